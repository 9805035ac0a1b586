// Checks the sources for the i18n rules:
//  - no user-visible text written in a .vue template: text between tags and
//    static user-facing attributes (title, placeholder, label, aria-label,
//    alt, description, *-text) must come from the messages;
//  - zh-CN and en hold the same keys, for the shared messages and each app's;
//  - every literal key used in t('…') / te('…') exists in zh-CN;
//  - no static style="" (refused by the CSP) and no v-html in templates.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const web = fileURLToPath(new URL('..', import.meta.url));
const src = join(web, 'src');
const APPS = ['console', 'station', 'till', 'me'];
const failures = [];

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else yield p;
  }
}

const VISIBLE_ATTR = /(?:^|\s)(title|placeholder|label|aria-label|alt|description|header|content|[a-z-]+-text)="([^"]*)"/g;
const LETTERS = /[A-Za-z\u3400-\u9fff]/;

function templateOf(text) {
  const start = text.indexOf('<template>');
  const end = text.lastIndexOf('</template>');
  return start >= 0 && end > start ? text.slice(start + '<template>'.length, end) : '';
}

const files = [...walk(src)];
for (const file of files.filter((f) => f.endsWith('.vue'))) {
  const rel = relative(web, file);
  const tpl = templateOf(readFileSync(file, 'utf8'))
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/\{\{[\s\S]*?\}\}/g, ' ');
  // the CSP (style-src 'self') refuses style attributes parsed from HTML,
  // which Vue does for static subtrees; and no raw HTML from data
  if (/\sstyle="/.test(tpl)) failures.push(`${rel}: static style="" in template (use a class)`);
  if (/\sv-html=/.test(tpl)) failures.push(`${rel}: v-html in template`);
  // text between tags
  for (const m of tpl.matchAll(/>([^<>]+)</g)) {
    const s = m[1].trim();
    if (s && LETTERS.test(s)) failures.push(`${rel}: text in template: "${s.slice(0, 40)}"`);
  }
  // static user-facing attributes (bound ones, :title="t(...)", are fine)
  for (const tag of tpl.matchAll(/<[a-zA-Z][^>]*>/g)) {
    for (const a of tag[0].matchAll(VISIBLE_ATTR)) {
      const before = tag[0][a.index + a[0].indexOf(a[1]) - 1];
      if (before === ':' || before === '@' || before === '#') continue;
      if (LETTERS.test(a[2])) failures.push(`${rel}: literal ${a[1]}="${a[2]}"`);
    }
  }
}

function flatten(obj, prefix = '', out = new Set()) {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object') flatten(v, key, out);
    else out.add(key);
  }
  return out;
}

async function load(p) {
  return (await import(pathToFileURL(p).href)).default;
}

const zhAll = new Set();
const sets = [[join(src, 'shared', 'i18n')], ...APPS.map((a) => [join(src, a, 'locales')])];
for (const [dir] of sets) {
  const zh = flatten(await load(join(dir, 'zh-CN.js')));
  const en = flatten(await load(join(dir, 'en.js')));
  for (const k of zh) {
    zhAll.add(k);
    if (!en.has(k)) failures.push(`${relative(web, dir)}: en.js lacks ${k}`);
  }
  for (const k of en) if (!zh.has(k)) failures.push(`${relative(web, dir)}: zh-CN.js lacks ${k}`);
}

for (const file of files.filter((f) => /\.(vue|js)$/.test(f) && !f.includes(`${join('src', 'shared', 'i18n')}`))) {
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/\bte?\(\s*'([a-zA-Z0-9_.]+)'/g)) {
    if (!zhAll.has(m[1])) failures.push(`${relative(web, file)}: unknown message key ${m[1]}`);
  }
}

if (failures.length) {
  for (const f of failures) console.error('FAIL ' + f);
  process.exit(1);
}
console.log(`i18n: ok (${files.filter((f) => f.endsWith('.vue')).length} templates, ${zhAll.size} messages per locale)`);
