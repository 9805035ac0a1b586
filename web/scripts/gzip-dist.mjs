// After `vite build`: write a .gz beside every text file of dist/ (the server
// sends it to clients that accept gzip). Node's own zlib, no dependency.
import { readdirSync, readFileSync, statSync, writeFileSync, unlinkSync } from 'node:fs';
import { join, extname, relative } from 'node:path';
import { gzipSync, constants } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const TEXT = new Set(['.js', '.mjs', '.css', '.html', '.svg', '.json', '.webmanifest', '.txt', '.xml', '.map', '.ico']);

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else yield p;
  }
}

let files = 0;
let raw = 0;
let packed = 0;
for (const p of walk(dist)) {
  if (p.endsWith('.gz')) {
    unlinkSync(p); // a stale one from an earlier build
    continue;
  }
}
for (const p of walk(dist)) {
  if (!TEXT.has(extname(p))) continue;
  const data = readFileSync(p);
  const gz = gzipSync(data, { level: constants.Z_BEST_COMPRESSION });
  writeFileSync(p + '.gz', gz);
  files++;
  raw += data.length;
  packed += gz.length;
}
console.log(
  `gzip: ${files} files in ${relative(process.cwd(), dist) || 'dist'}: ` +
    `${(raw / 1024).toFixed(1)} KiB → ${(packed / 1024).toFixed(1)} KiB`,
);
