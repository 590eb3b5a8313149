export * from './execute-task.ts';
export * from './volunteer.ts';
