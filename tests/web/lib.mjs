// Helpers of the browser tests (tests/web/*.spec.mjs): each spec is a Node
// program that drives Debian's chromium (playwright-core, installed with the
// web apps in web/node_modules) against the real stack the API tests started
// (tests/api/test_browser.py passes WB_BASE and the admin's credentials).
// A spec exits 0 when every check held; a page error, a console error or a
// CSP violation fails it.
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
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
