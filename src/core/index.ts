export * from './assert.js';
export * from './bytes.js';
export * from './errors.js';
export * from './ids.js';
export * from './limits.js';
export * from './prng.js';
export * from './result.js';
export * from './time.js';
