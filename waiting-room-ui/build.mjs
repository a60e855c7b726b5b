/**
 * Builds the two pages into dist/: the gateway serves dist/sale.html at /sales/:saleId,
 * dist/admin.html at /admin and dist/assets/* at /assets/* (cached for good, so every asset
 * name carries a hash of its content). No inline scripts or styles: the pages run under a
 * Content-Security-Policy of `script-src 'self'`. Prints the gzipped size of all that each
 * page loads, and writes it to dist/sizes.json.
 *
 * The shopper's page is written once per language of src/catalogue.ts: dist/sale.html in
 * English (the fallback) and dist/sale.<lang>.html for the others, each with its `<html lang
 * dir>` and its `{{t:key}}` texts filled in. The gateway picks one per request (`?lang=`, then
 * Accept-Language) and adds the deployment's branding at the `<!--vr:brand...-->` marks.
 * dist/catalogue.json holds the catalogue again for the gateway's own pages.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const root = dirname(fileURLToPath(import.meta.url));
const src = join(root, 'src');
const dist = join(root, 'dist');
const assets = join(dist, 'assets');

const pages = [
  { name: 'sale', script: 'sale.ts', style: 'sale.css', html: 'sale.html', translated: true },
  { name: 'admin', script: 'admin.ts', style: 'admin.css', html: 'admin.html', translated: false },
];

/** the shopper page's catalogue, compiled for this script */
async function loadCatalogue() {
  const out = await esbuild.build({
    entryPoints: [join(src, 'catalogue.ts')],
    bundle: true,
    format: 'esm',
    platform: 'node',
    write: false,
  });
  return import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0].text).toString('base64')}`);
}
const { CATALOGUES, LANGUAGES, directionOf } = await loadCatalogue();

const escapeHtml = (s) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** the page in one language: `{{lang}}`, `{{dir}}` and every `{{t:key}}` (a key the catalogue lacks stops the build) */
function translate(html, lang) {
  const texts = CATALOGUES[lang];
  return html
    .replaceAll('{{lang}}', lang)
    .replaceAll('{{dir}}', directionOf(lang))
    .replace(/\{\{t:(\w+)\}\}/g, (_all, key) => {
      if (!(key in texts)) throw new Error(`sale.html: {{t:${key}}} is not in src/catalogue.ts`);
      return escapeHtml(texts[key]);
    });
}

await rm(dist, { recursive: true, force: true });
await mkdir(assets, { recursive: true });

const common = {
  absWorkingDir: root,
  outdir: assets,
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2020',
  platform: 'browser',
  legalComments: 'none',
  sourcemap: false,
  metafile: true,
  logLevel: 'warning',
  // socket.io-client's debug logging is for its own development only
  define: { 'process.env.NODE_ENV': '"production"' },
};

/**
 * The catalogue with one language (and English, the fallback) for a translated page's script:
 * the other languages' texts are left out of its bundle (about 3.5 KB gzipped each).
 */
const onlyLanguage = (lang) => ({
  name: 'only-language',
  setup(build) {
    build.onLoad({ filter: /[\\/]catalogue\.ts$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const all = /export const CATALOGUES: ([^=]+) = \{ [\w, ]+ \};/;
      if (!all.test(source)) throw new Error('src/catalogue.ts: build.mjs no longer finds the `export const CATALOGUES` line it trims');
      const kept = [...new Set([LANGUAGES[0], lang])].join(', ');
      return {
        contents: source.replace(all, (_all, type) => `export const CATALOGUES = { ${kept} } as unknown as ${type};`),
        loader: 'ts',
      };
    });
  },
});

const result = await esbuild.build({
  ...common,
  entryPoints: pages.flatMap((p) => (p.translated ? [join(src, p.style)] : [join(src, p.script), join(src, p.style)])),
  entryNames: '[name]-[hash]',
});
/** each translated page's script per language: its built file */
const scripts = new Map();
for (const page of pages.filter((p) => p.translated)) {
  for (const lang of LANGUAGES) {
    const r = await esbuild.build({
      ...common,
      entryPoints: [join(src, page.script)],
      entryNames: lang === LANGUAGES[0] ? '[name]-[hash]' : `[name]-${lang}-[hash]`,
      plugins: [onlyLanguage(lang)],
    });
    const [out] = Object.entries(r.metafile.outputs).find(([, meta]) => meta.entryPoint) ?? [];
    if (!out) throw new Error(`esbuild made nothing for ${page.script} in ${lang}`);
    scripts.set(`${page.name}:${lang}`, join(root, out));
  }
}

/** the built file of each entry point, by the entry's path relative to this folder */
const built = new Map();
for (const [out, meta] of Object.entries(result.metafile.outputs)) {
  if (meta.entryPoint) built.set(meta.entryPoint, join(root, out));
}
const output = (file) => {
  const path = built.get(relative(root, join(src, file)));
  if (!path) throw new Error(`esbuild made nothing for ${file}`);
  return path;
};

/** collapse the whitespace between tags of our own, hand-written HTML */
const minifyHtml = (html) =>
  html
    .replace(/>\s+</g, '><')
    .replace(/\s{2,}/g, ' ')
    .trim();

const sizes = {};
for (const page of pages) {
  const css = output(page.style);
  const template = await readFile(join(src, page.html), 'utf8');
  const render = (js) => {
    const html = minifyHtml(template.replace('{{js}}', `/assets/${basename(js)}`).replace('{{css}}', `/assets/${basename(css)}`));
    if (/<script(?![^>]*\bsrc=)[^>]*>/i.test(html) || /\son[a-z]+=/i.test(html) || /\sstyle=/i.test(html)) {
      throw new Error(`${page.html}: inline scripts, event handlers or styles would break the CSP`);
    }
    return html;
  };
  const variants = page.translated
    ? LANGUAGES.map((lang, i) => ({
        file: i === 0 ? page.html : page.html.replace(/\.html$/, `.${lang}.html`),
        html: translate(render(scripts.get(`${page.name}:${lang}`)), lang),
      }))
    : [{ file: page.html, html: render(output(page.script)) }];
  const js = page.translated ? scripts.get(`${page.name}:${LANGUAGES[0]}`) : output(page.script);
  for (const v of variants) await writeFile(join(dist, v.file), v.html);
  const files = [
    { file: page.html, bytes: Buffer.from(variants[0].html) },
    { file: `assets/${basename(css)}`, bytes: await readFile(css) },
    { file: `assets/${basename(js)}`, bytes: await readFile(js) },
  ];
  sizes[page.name] = files.map(({ file, bytes }) => ({ file, bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length }));
}
await writeFile(join(dist, 'sizes.json'), `${JSON.stringify(sizes, null, 2)}\n`);
// the same catalogue for the gateway's own pages (the page without JavaScript, the refusals),
// read at its boot as it reads the pages: one catalogue, not a second one in the gateway
const directions = Object.fromEntries(LANGUAGES.map((lang) => [lang, directionOf(lang)]));
await writeFile(join(dist, 'catalogue.json'), `${JSON.stringify({ languages: LANGUAGES, directions, texts: CATALOGUES })}\n`);

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
for (const [page, files] of Object.entries(sizes)) {
  const raw = files.reduce((n, f) => n + f.bytes, 0);
  const gz = files.reduce((n, f) => n + f.gzip, 0);
  console.log(`waiting-room-ui: ${page} page loads ${kb(gz)} gzipped (${kb(raw)} raw)`);
  for (const f of files) console.log(`  ${f.file.padEnd(34)} ${kb(f.gzip).padStart(9)} gzipped  ${kb(f.bytes).padStart(9)} raw`);
}
