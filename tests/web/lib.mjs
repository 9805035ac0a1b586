// Helpers of the browser tests (tests/web/*.spec.mjs): each spec is a Node
// program that drives Debian's chromium (playwright-core, installed with the
// web apps in web/node_modules) against the real stack the API tests started
// (tests/api/test_browser.py passes WB_BASE and the admin's credentials).
// A spec exits 0 when every check held; a page error, a console error or a
// CSP violation fails it.
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');

export const BASE = process.env.WB_BASE || 'http://127.0.0.1:8080';
export const ADMIN = { username: process.env.WB_ADMIN_USER || 'admin', password: process.env.WB_ADMIN_PASSWORD || '' };
export const OUT = process.env.WB_WEB_OUT || join(process.cwd(), 'test-output');

export function tag(n = 6) {
  return Math.random().toString(36).slice(2, 2 + n);
}

/* A JSON API call; throws on a status other than `want` (a number or list). */
export async function api(path, { method = 'GET', body, token, want = [200, 201], headers = {} } = {}) {
  const h = { ...headers };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  if (token) h.Authorization = `Bearer ${token}`;
  const r = await fetch(BASE + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  const wants = Array.isArray(want) ? want : [want];
  if (!wants.includes(r.status)) throw new Error(`${method} ${path}: ${r.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

export async function login(username, password) {
  return (await api('/v1/auth/login', { method: 'POST', body: { username, password } })).token;
}

/* A small world of its own: province > city > county > town > village, with
 * an admin token.  Codes are unique per run. */
export async function world() {
  const admin = await login(ADMIN.username, ADMIN.password);
  const code = () => String(Math.floor(1e11 + Math.random() * 8e11));
  const region = async (parent_id, level, name) =>
    api('/v1/regions', { method: 'POST', token: admin, body: { parent_id, level, name: `${name} ${tag()}`, code: code() } });
  const prov = await region(null, 'province', '测试省');
  const city = await region(prov.id, 'city', '测试市');
  const county = await region(city.id, 'county', '测试县');
  const town = await region(county.id, 'town', '测试镇');
  const village = await region(town.id, 'village', '测试村');
  return { admin, prov, city, county, town, village, region };
}

/* Create a staff member and sign in: {id, username, password, token}. */
export async function staff(admin, body) {
  const username = `${body.role}_${tag(8)}`;
  const password = `pw-${tag(12)}-x`;
  const s = await api('/v1/staff', { method: 'POST', token: admin, body: { username, password, display_name: username, ...body } });
  return { ...s, username, password, token: await login(username, password) };
}

/* Decode a PNG (non-interlaced; greyscale, RGB, palette, with or without
 * alpha; 1 to 16 bits) into {width, height, rgba}. Node's zlib, no package. */
export function decodePng(buf) {
  if (buf.subarray(0, 8).toString('hex') !== '89504e470d0a1a0a') throw new Error('not a PNG');
  let at = 8, ihdr = null, palette = null, trns = null;
  const idat = [];
  while (at < buf.length) {
    const len = buf.readUInt32BE(at);
    const type = buf.subarray(at + 4, at + 8).toString('latin1');
    const data = buf.subarray(at + 8, at + 8 + len);
    if (type === 'IHDR') ihdr = { width: data.readUInt32BE(0), height: data.readUInt32BE(4), depth: data[8], color: data[9], interlace: data[12] };
    else if (type === 'PLTE') palette = data;
    else if (type === 'tRNS') trns = data;
    else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    at += 12 + len;
  }
  if (!ihdr || ihdr.interlace) throw new Error('PNG: no IHDR, or interlaced');
  const { width, height, depth, color } = ihdr;
  const channels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[color];
  if (!channels || (color === 3 && !palette)) throw new Error(`PNG: colour type ${color} unsupported`);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = Math.ceil((width * channels * depth) / 8);
  const bpp = Math.max(1, (channels * depth) >> 3);
  const rows = [];
  let prev = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    const line = Buffer.from(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)));
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? line[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
      let add = 0;
      if (f === 1) add = a;
      else if (f === 2) add = b;
      else if (f === 3) add = (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        add = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (f !== 0) throw new Error(`PNG: filter ${f}`);
      line[i] = (line[i] + add) & 0xff;
    }
    rows.push(line);
    prev = line;
  }
  const max = (1 << depth) - 1;
  const sample = (line, k) => {
    if (depth === 8) return line[k];
    if (depth === 16) return line[2 * k];
    const bit = k * depth;
    return (line[bit >> 3] >> (8 - depth - (bit & 7))) & max;
  };
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4, k = x * channels, line = rows[y];
      const v = (j) => (color === 3 ? sample(line, k + j) : Math.round((sample(line, k + j) * 255) / (depth === 16 ? 255 : max)));
      if (color === 3) {
        const i = v(0);
        rgba.set([palette[3 * i], palette[3 * i + 1], palette[3 * i + 2], trns && i < trns.length ? trns[i] : 255], o);
      } else if (color === 0 || color === 4) {
        const g = v(0);
        rgba.set([g, g, g, color === 4 ? v(1) : 255], o);
      } else rgba.set([v(0), v(1), v(2), color === 6 ? v(3) : 255], o);
    }
  }
  return { width, height, rgba };
}

/* A Y4M video (what Chromium's fake camera plays with
 * --use-file-for-fake-video-capture) of `frames` frames at 10 fps: the image
 * centred on a white width x height frame, 4:2:0 full-range (JPEG) YUV. */
export function writeY4m(file, img, { width = 640, height = 480, frames = 10 } = {}) {
  if (img.width > width || img.height > height) throw new Error('the image is larger than the frame');
  const Y = new Uint8Array(width * height).fill(255);
  const ox = (width - img.width) >> 1, oy = (height - img.height) >> 1;
  const R = new Float32Array(width * height).fill(255), G = new Float32Array(R), B = new Float32Array(R);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const i = (y * img.width + x) * 4, a = img.rgba[i + 3] / 255, o = (y + oy) * width + x + ox;
      R[o] = img.rgba[i] * a + 255 * (1 - a);
      G[o] = img.rgba[i + 1] * a + 255 * (1 - a);
      B[o] = img.rgba[i + 2] * a + 255 * (1 - a);
      Y[o] = Math.round(0.299 * R[o] + 0.587 * G[o] + 0.114 * B[o]);
    }
  }
  const cw = width >> 1, ch = height >> 1;
  const U = new Uint8Array(cw * ch), V = new Uint8Array(cw * ch);
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) {
      let r = 0, g = 0, b = 0;
      for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
        const o = (2 * y + dy) * width + 2 * x + dx;
        r += R[o] / 4;
        g += G[o] / 4;
        b += B[o] / 4;
      }
      U[y * cw + x] = Math.max(0, Math.min(255, Math.round(128 - 0.168736 * r - 0.331264 * g + 0.5 * b)));
      V[y * cw + x] = Math.max(0, Math.min(255, Math.round(128 + 0.5 * r - 0.418688 * g - 0.081312 * b)));
    }
  }
  const frame = Buffer.concat([Buffer.from('FRAME\n'), Y, U, V]);
  const head = Buffer.from(`YUV4MPEG2 W${width} H${height} F10:1 Ip A1:1 C420jpeg\n`);
  writeFileSync(file, Buffer.concat([head, ...Array(frames).fill(frame)]));
  return file;
}

let failures = 0;
export function check(ok, what) {
  if (ok) {
    console.log(`ok   ${what}`);
  } else {
    failures++;
    console.log(`FAIL ${what}`);
  }
}

/* Launch chromium; pages record their errors into `problems`.  `args` are
 * launch arguments added to the usual ones (e.g. a video file for the fake
 * camera: --use-file-for-fake-video-capture=F.y4m). */
const LAUNCH_ARGS = ['--no-sandbox', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'];
const executablePath = () => process.env.CHROME_PATH || '/usr/bin/chromium';

export async function browser({ args = [] } = {}) {
  return chromium.launch({ executablePath: executablePath(), headless: true, args: [...LAUNCH_ARGS, ...args] });
}

export const problems = [];

const contextOptions = (mobile) => ({
  viewport: mobile ? { width: 390, height: 844 } : { width: 1366, height: 800 },
  isMobile: mobile,
  hasTouch: mobile,
  locale: 'zh-CN',
});

// a page's errors, console errors and requests to another origin are problems
function watch(p, name) {
  p.on('pageerror', (e) => problems.push(`${name}: page error: ${e.message}`));
  p.on('console', (m) => {
    // a refusal the page asked for (a wrong PIN's 401) is logged by the
    // browser as a failed load: the page handles it; anything else counts
    if (m.type() === 'error' && !/status of 4\d\d/.test(m.text()))
      problems.push(`${name}: console error: ${m.text()}`);
  });
  p.on('request', (r) => {
    const u = new URL(r.url());
    if (u.origin !== new URL(BASE).origin && !u.protocol.startsWith('data') && !u.protocol.startsWith('blob'))
      problems.push(`${name}: a request to another origin: ${r.url()}`);
  });
  return p;
}

export async function page(b, { mobile = true, name = 'page' } = {}) {
  const ctx = await b.newContext(contextOptions(mobile));
  return watch(await ctx.newPage(), name);
}

/* A page in a chromium of its own whose profile is a real one (in a fresh
 * folder), not the off-the-record one of page(): Chromium calls no app
 * installable in an incognito profile.  close() ends it and removes the
 * folder. */
export async function profilePage({ mobile = true, name = 'profile', args = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'wb-profile-'));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: executablePath(),
    headless: true,
    args: [...LAUNCH_ARGS, ...args],
    ...contextOptions(mobile),
  });
  const p = watch(ctx.pages()[0] || (await ctx.newPage()), name);
  const close = async () => {
    await ctx.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { page: p, close };
}

export async function shot(p, name) {
  mkdirSync(OUT, { recursive: true });
  await p.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
}

/* End the spec: report problems, close, exit 0 only when all held. */
export async function done(b) {
  for (const pr of problems) check(false, pr);
  if (b) await b.close();
  console.log(failures ? `${failures} failed` : 'all passed');
  process.exit(failures ? 1 : 0);
}

/* Run body; an exception is a failure (with its stack), then done().
 * `args`: extra launch arguments for browser(), or an async function that
 * prepares them (it runs first; its exception is a failure too). */
export async function run(body, { args = [] } = {}) {
  let b = null;
  try {
    b = await browser({ args: typeof args === 'function' ? await args() : args });
    await body(b);
  } catch (e) {
    check(false, `exception: ${e && e.stack ? e.stack : e}`);
  }
  await done(b);
}
