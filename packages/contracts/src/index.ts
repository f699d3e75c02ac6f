export * from './alerts';
export * from './device';
export * from './env';
export * from './zones';
export * from './map';
