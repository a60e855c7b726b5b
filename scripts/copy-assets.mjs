// Copies non-TypeScript assets (Lua scripts, SQL) next to the compiled output, so that
// `dist/` runs on its own. Usage: node copy-assets.mjs <from> <to> (relative to the cwd).
import { cpSync, existsSync } from 'node:fs';

const [from, to] = process.argv.slice(2);
if (!from || !to) {
  process.stderr.write('usage: copy-assets.mjs <from> <to>\n');
  process.exit(2);
}
if (existsSync(from)) cpSync(from, to, { recursive: true });
