/**
 * A throwaway copy of the checkout for `npm run demo`: its own bin/ (links kept as links),
 * examples/ and package.json, with dist/ linked to this checkout's. Removed after the test.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { PROJECT_ROOT } from './paths.js';

export function demoCheckout(t: TestContext): string {
  const checkout = fs.mkdtempSync(path.join(os.tmpdir(), 'vmstated-demo-'));
  t.after(() => fs.rmSync(checkout, { recursive: true, force: true }));
  fs.cpSync(path.join(PROJECT_ROOT, 'bin'), path.join(checkout, 'bin'), { recursive: true, verbatimSymlinks: true });
  fs.cpSync(path.join(PROJECT_ROOT, 'examples'), path.join(checkout, 'examples'), { recursive: true });
  fs.copyFileSync(path.join(PROJECT_ROOT, 'package.json'), path.join(checkout, 'package.json'));
  fs.symlinkSync(path.join(PROJECT_ROOT, 'dist'), path.join(checkout, 'dist'));
  return checkout;
}
