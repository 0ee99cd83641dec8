#!/usr/bin/env node
// Runs the compiled CLI (dist/src/cli/bin.js) in this process. From a checkout, `npm install` builds dist/
// (the `prepare` script); during development, `npm run shadowfill -- <args>` runs the TypeScript sources.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/bin.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('error: shadowfill is not built (no dist/) — run `npm run build` in its directory\n');
  process.exit(1);
}
await import(entry.href);
