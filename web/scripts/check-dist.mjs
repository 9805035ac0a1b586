// Checks the built dist/ (run after `npm run build`):
//  - each app's index.html exists and has no inline script: only
//    <script type="module" src="/assets/...">, and no inline style;
//  - nothing refers to another origin (url(http…), url(//…), src/href=http…);
//  - every text asset has its .gz beside it;
//  - the initial JavaScript of each app (entry + modulepreload), gzipped,
//    is within its budget: 120 KB for the mobile apps, 350 KB for the console.
// Exit 1 on any failure. `--json` prints the measures as JSON too.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, extname } from 'node:path';
import { gzipSync, constants } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const KB = 1000; // budgets in kilobytes (1000 bytes)
const BUDGETS = { console: 350 * KB, station: 120 * KB, till: 120 * KB, me: 120 * KB };
const TEXT = new Set(['.js', '.css', '.html', '.svg', '.json', '.webmanifest']);
const failures = [];
const fail = (msg) => failures.push(msg);

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else yield p;
  }
}

const gzSize = (p) => gzipSync(readFileSync(p), { level: constants.Z_BEST_COMPRESSION }).length;
const local = (url) => join(dist, url.replace(/^\//, ''));

const report = {};
for (const [app, budget] of Object.entries(BUDGETS)) {
  const html = join(dist, app, 'index.html');
  if (!existsSync(html)) {
    fail(`${app}: no dist/${app}/index.html`);
    continue;
  }
  const text = readFileSync(html, 'utf8');
  const scripts = [...text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
  const entries = [];
  for (const [, attrs, body] of scripts) {
    const src = /\bsrc="([^"]+)"/.exec(attrs);
    if (!src || body.trim()) fail(`${app}: inline script in index.html`);
    else if (!/\btype="module"/.test(attrs)) fail(`${app}: script without type="module": ${src[1]}`);
    else entries.push(src[1]);
  }
  if (/<style\b/i.test(text) || /\sstyle="/i.test(text)) fail(`${app}: inline style in index.html`);
  if (/\son[a-z]+="/i.test(text)) fail(`${app}: inline event handler in index.html`);
  const preloads = [...text.matchAll(/<link\b[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g)].map((m) => m[1]);
  const css = [...text.matchAll(/<link\b[^>]*rel="stylesheet"[^>]*href="([^"]+)"/g)].map((m) => m[1]);
  const js = [...new Set([...entries, ...preloads])];
  for (const u of [...js, ...css]) {
    if (!u.startsWith('/assets/')) fail(`${app}: ${u} is not under /assets/`);
    else if (!/-[A-Za-z0-9_-]{8,}\.(js|css)$/.test(u)) fail(`${app}: ${u} has no content hash`);
  }
  const jsFiles = js.map((u) => ({ url: u, gz: gzSize(local(u)) }));
  const jsGz = jsFiles.reduce((a, f) => a + f.gz, 0);
  const cssGz = css.reduce((a, u) => a + gzSize(local(u)), 0);
  report[app] = { js_gzip_bytes: jsGz, css_gzip_bytes: cssGz, budget_bytes: budget, files: jsFiles };
  if (jsGz > budget) fail(`${app}: initial JS ${jsGz} B gzipped exceeds the budget ${budget} B`);
}

for (const p of walk(dist)) {
  const ext = extname(p);
  if (!TEXT.has(ext)) continue;
  if (!existsSync(p + '.gz')) fail(`${p.slice(dist.length)}: no .gz beside it`);
  const text = readFileSync(p, 'utf8');
  const bad = [
    /url\(\s*["']?(?:https?:)?\/\//i,
    /\b(?:src|href|action)\s*=\s*["']?(?:https?:)?\/\//i,
    /@import\s+(?:url\()?\s*["']?(?:https?:)?\/\//i,
  ];
  for (const re of bad) {
    const m = re.exec(text);
    if (m) fail(`${p.slice(dist.length)}: refers to another origin: ${text.slice(m.index, m.index + 80)}`);
  }
}

const kb = (n) => (n / KB).toFixed(1) + ' KB';
for (const [app, r] of Object.entries(report)) {
  console.log(
    `${app.padEnd(8)} initial JS ${kb(r.js_gzip_bytes).padStart(9)} gzip (budget ${kb(r.budget_bytes)}), ` +
      `CSS ${kb(r.css_gzip_bytes)} gzip, ${r.files.length} JS files`,
  );
}
if (process.argv.includes('--json')) console.log(JSON.stringify(report, null, 2));
if (failures.length) {
  for (const f of failures) console.error('FAIL ' + f);
  process.exit(1);
}
console.log('dist: ok');
