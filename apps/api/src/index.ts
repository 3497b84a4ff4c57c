export type { App, AppOptions } from './app.js';
export { createApp } from './app.js';
