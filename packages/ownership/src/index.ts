export * from './entitlements.ts';
export * from './merkle.ts';
export * from './siwe.ts';
