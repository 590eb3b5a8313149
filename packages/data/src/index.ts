export * from './tokenizer.ts';
export * from './brown.ts';
export * from './corpus.ts';
export * from './sampler.ts';
