// Vite plugin: serve Vant's icon font from our own origin.
//
// Vant 4's icon CSS declares `@font-face { font-family: vant-icon }` with the
// woff2 embedded as a data: URI and a fallback on a CDN (at.alicdn.com). Neither
// may be used here: the server's CSP allows fonts from 'self' only. So this
// plugin takes the woff2 out of that very CSS (it matches the glyph table in
// the same file), writes it to node_modules/.cache/, and rewrites the rule to
// point at that file; Vite then emits it as a hashed asset under assets/.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

const CSS_ID = /[\\/]vant[\\/](?:es|lib)[\\/](?:icon[\\/])?index\.css$/;
const FACE = /@font-face\s*\{[^}]*font-family:\s*["']?vant-icon["']?[^}]*\}/g;
const WOFF2 = /url\(\s*["']?data:font\/woff2;[^,]*base64,([A-Za-z0-9+/=]+)["']?\s*\)/;

export default function vantIconFont({ root }) {
  const dir = join(root, 'node_modules', '.cache', 'wastebank-vant-icon');
  return {
    name: 'wastebank:vant-icon-font',
    enforce: 'pre',
    transform(code, id) {
      const file = id.split('?')[0];
      if (!CSS_ID.test(file) || !code.includes('vant-icon')) return null;
      let found = 0;
      const out = code.replace(FACE, (face) => {
        const m = WOFF2.exec(face);
        if (!m) return face;
        const font = Buffer.from(m[1], 'base64');
        const name = `vant-icon-${createHash('sha256').update(font).digest('hex').slice(0, 8)}.woff2`;
        const path = join(dir, name);
        if (!existsSync(path) || !readFileSync(path).equals(font)) {
          mkdirSync(dir, { recursive: true });
          writeFileSync(path, font);
        }
        found++;
        const url = relative(dirname(file), path).split(sep).join('/');
        return (
          '@font-face{font-weight:400;font-family:vant-icon;font-style:normal;' +
          `font-display:block;src:url("${url}") format("woff2")}`
        );
      });
      if (!found) this.error(`no embedded woff2 in the vant-icon @font-face of ${file}; update build/vant-icon-font.js`);
      return { code: out, map: null };
    },
  };
}
