export * from './engine/types.ts';
export * from './source.ts';
