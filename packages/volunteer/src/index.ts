export * from './events.ts';
export * from './execute-task.ts';
export * from './task-executor.ts';
export * from './machine-io.ts';
export * from './machine.ts';
export * from './volunteer.ts';
export * from './describe-event.ts';
export * from './sign-in.ts';
