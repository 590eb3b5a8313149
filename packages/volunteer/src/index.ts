export * from './execute-task.ts';
