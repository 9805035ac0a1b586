// Draws the station's app icons (PNG, for its web app manifest) from
// web/src/shared/icon.svg with Debian's chromium (playwright-core):
//   icon-192.png, icon-512.png          purpose "any": the icon as it is
//   maskable-192.png, maskable-512.png  purpose "maskable": the background
//     fills the square and the glyph is shrunk into the safe zone (the
//     central circle of 40 % radius that every mask keeps)
// and icon.svg.sha256, the hash of the SVG they were drawn from: the build
// refuses icons older than the SVG. Run after changing icon.svg:
//   node web/station/icons/render.mjs
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const svgPath = fileURLToPath(new URL('../../src/shared/icon.svg', import.meta.url));
const require = createRequire(new URL('../../package.json', import.meta.url));
const { chromium } = require('playwright-core');

const svg = readFileSync(svgPath, 'utf8');
// the first element is the background (a rect with a fill); the rest is the glyph
const m = /^(<svg\b[^>]*>)\s*(<rect\b[^>]*\bfill="([^"]+)"[^>]*\/>)([\s\S]*)<\/svg>\s*$/.exec(svg.trim());
if (!m) throw new Error('icon.svg: expected <svg> whose first child is the background <rect fill=…/>');
const [, open, , fill, glyph] = m;
const box = /viewBox="0 0 (\d+) (\d+)"/.exec(open);
if (!box || box[1] !== box[2]) throw new Error('icon.svg: expected a square viewBox="0 0 N N"');
const n = Number(box[1]);
const maskable =
  `${open}<rect width="${n}" height="${n}" fill="${fill}"/>` +
  `<g transform="translate(${n / 2} ${n / 2}) scale(0.8) translate(${-n / 2} ${-n / 2})">${glyph}</g></svg>`;

const b = await chromium.launch({ executablePath: process.env.CHROME_PATH || '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const page = await b.newPage();
  for (const [name, source] of [['icon', svg], ['maskable', maskable]]) {
    for (const size of [192, 512]) {
      await page.setViewportSize({ width: size, height: size });
      const url = 'data:image/svg+xml;base64,' + Buffer.from(source).toString('base64');
      await page.setContent(
        `<html><body style="margin:0;background:transparent"><img src="${url}" width="${size}" height="${size}" style="display:block"></body></html>`,
      );
      await page.locator('img').evaluate((i) => i.decode());
      await page.screenshot({ path: `${here}${name}-${size}.png`, omitBackground: true, clip: { x: 0, y: 0, width: size, height: size } });
    }
  }
} finally {
  await b.close();
}
writeFileSync(`${here}icon.svg.sha256`, createHash('sha256').update(svg).digest('hex') + '\n');
console.log('icons drawn in', here);
