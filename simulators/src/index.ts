export * from './device-client';
export * from './synthetic';
