#!/usr/bin/env node
/**
 * Counts the modules under a source folder and the import arrows between them (every
 * `import`/`export … from` of a relative path that resolves inside the folder; `import type`
 * counted too, reported apart). Used for the module counts in the architecture notes:
 *
 *   node scripts/module-graph.mjs gateway/src [--list]
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';

const root = resolve(process.argv[2] ?? 'gateway/src');
const list = process.argv.includes('--list');

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return walk(path);
    return /\.ts$/.test(name) && !/\.d\.ts$/.test(name) ? [path] : [];
  });
}

const modules = walk(root);
const known = new Set(modules);
let arrows = 0;
let typeOnly = 0;
const fanIn = new Map(modules.map((m) => [m, 0]));
const folders = new Map();
const re = /^\s*(import|export)\s+(type\s+)?[^'"]*?from\s+'(\.[^']+)'|^\s*import\s+'(\.[^']+)'/gm;
for (const file of modules) {
  const src = readFileSync(file, 'utf8');
  const seen = new Set();
  for (const m of src.matchAll(re)) {
    const spec = m[3] ?? m[4];
    const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
    if (!known.has(target) || seen.has(target)) continue;
    seen.add(target);
    arrows += 1;
    if (m[2]) typeOnly += 1;
    fanIn.set(target, (fanIn.get(target) ?? 0) + 1);
  }
  const folder = dirname(relative(root, file)) || '.';
  folders.set(folder, (folders.get(folder) ?? 0) + 1);
}
console.log(`${relative(process.cwd(), root)}: ${modules.length} modules, ${arrows} import arrows (${typeOnly} type-only)`);
console.log(
  'modules per folder: ' +
    [...folders]
      .sort()
      .map(([f, n]) => `${f} ${n}`)
      .join(', '),
);
if (list) for (const [m, n] of [...fanIn].sort((a, b) => b[1] - a[1])) console.log(`  ${n}\t${relative(root, m)}`);
