export * from './execute-task.ts';
export * from './volunteer.ts';
export * from './describe-event.ts';
export * from './sign-in.ts';
