export * from './database';
export * from './pglite-dialect';
export * from './types';
