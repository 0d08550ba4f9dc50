/**
 * Moved to src/config/generated.ts, beside writeGeneratedConfig. Kept only while workers/main.ts
 * still imports it from here; delete this file once main.ts imports '../src/config/generated.js'.
 */
export { GeneratedConfigWriter } from '../src/config/generated.js';
