// A small static server for dist/ with the headers wastebankd will send
// (strict CSP, nosniff, no-referrer, immutable hashed assets, .gz when
// accepted), proxying /v1 to the API. For trying the built apps and for the
// screenshot script before/without the real server serving web/dist.
//   node scripts/serve-dist.mjs [--port 4173] [--api http://127.0.0.1:8080]
import { createServer, request as httpRequest } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "media-src 'self' blob:",
  "worker-src 'self'",
  "manifest-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.woff2': 'font/woff2',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};
const APPS = ['console', 'station', 'till', 'me'];

export function startServer({ port = 4173, api = 'http://127.0.0.1:8080', dist } = {}) {
  const root = dist || fileURLToPath(new URL('../dist/', import.meta.url));
  const target = new URL(api);
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const common = {
      'Content-Security-Policy': CSP,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
    };
    if (url.pathname.startsWith('/v1/') || url.pathname === '/healthz' || url.pathname === '/readyz') {
      const up = httpRequest(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (r) => {
          res.writeHead(r.statusCode, { ...r.headers, ...common });
          r.pipe(res);
        },
      );
      up.on('error', () => {
        res.writeHead(502, { 'Content-Type': 'application/json', ...common });
        res.end('{"error":{"code":"unavailable","message":"API not reachable"}}');
      });
      req.pipe(up);
      return;
    }
    if (url.pathname === '/') {
      res.writeHead(302, { Location: '/console/', ...common });
      return res.end();
    }
    const app = APPS.find((a) => url.pathname === '/' + a);
    if (app) {
      res.writeHead(301, { Location: `/${app}/`, ...common });
      return res.end();
    }
    let rel = decodeURIComponent(url.pathname);
    if (rel.includes('\0')) rel = '/_';
    if (rel.endsWith('/')) rel += 'index.html';
    const file = normalize(join(root, rel));
    if (!file.startsWith(root.endsWith(sep) ? root : root + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', ...common });
      return res.end('not found');
    }
    const ext = extname(file);
    const headers = {
      'Content-Type': TYPES[ext] || 'application/octet-stream',
      'Cache-Control': rel.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
      Vary: 'Accept-Encoding',
      ...common,
    };
    let body;
    if (/\bgzip\b/.test(req.headers['accept-encoding'] || '') && existsSync(file + '.gz')) {
      body = readFileSync(file + '.gz');
      headers['Content-Encoding'] = 'gzip';
    } else {
      body = readFileSync(file);
    }
    headers['Content-Length'] = body.length;
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : dflt;
  };
  const port = Number(arg('--port', process.env.PORT || 4173));
  const api = arg('--api', process.env.WB_API || 'http://127.0.0.1:8080');
  startServer({ port, api }).then(() => console.log(`dist on http://127.0.0.1:${port}/ (API ${api})`));
}
