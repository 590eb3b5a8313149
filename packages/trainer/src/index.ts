export * from './trainer.ts';
export * from './checkpoint-files.ts';
export * from './generate.ts';
export * from './backend.ts';
export * from './model-card.ts';
