// Drive the built apps in headless Chromium (Debian's /usr/bin/chromium,
// through playwright-core) against a running API, and save screenshots of
// their main screens. Fails on a page error, a console error or a CSP
// violation, and when the pay-code QR (decoded with zbarimg, if installed)
// is not the code the API issued.
//
//   node scripts/screenshots.mjs [--base URL] [--out DIR]
// --base: where the apps are served (default: start scripts/serve-dist.mjs,
//   which serves dist/ with the strict CSP and proxies /v1 to $WB_API or
//   http://127.0.0.1:8080). Credentials: $WB_DEMO_CREDENTIALS or
//   ../var/demo-credentials.txt (lines "role username password" and
//   "resident card CODE PIN").
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from './serve-dist.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const out = resolve(arg('--out', process.env.WB_SCREENSHOTS || join(here, '..', 'test-output', 'screenshots')));
mkdirSync(out, { recursive: true });

function credentials() {
  const file = process.env.WB_DEMO_CREDENTIALS || join(here, '..', '..', 'var', 'demo-credentials.txt');
  const staff = {};
  let resident = null;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const w = line.trim().split(/\s+/);
    if (w[0] === 'resident' && w[1] === 'card') resident = { code: w[2], pin: w[4] };
    else if (w.length >= 3 && !staff[w[0]]) staff[w[0]] = { username: w[1], password: w[2] };
  }
  return { staff, resident };
}

const { staff, resident } = credentials();
let server = null;
let base = arg('--base', '');
if (!base) {
  server = await startServer({ port: 0, api: process.env.WB_API || 'http://127.0.0.1:8080' });
  base = `http://127.0.0.1:${server.address().port}`;
}

const problems = [];
const browser = await chromium.launch({
  executablePath: process.env.CHROME_PATH || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox'],
});

async function newPage(kind) {
  const mobile = kind === 'mobile';
  const ctx = await browser.newContext({
    viewport: mobile ? { width: 390, height: 844 } : { width: 1366, height: 800 },
    deviceScaleFactor: mobile ? 2 : 1,
    isMobile: mobile,
    hasTouch: mobile,
    locale: 'zh-CN',
  });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => problems.push(`${page.url()}: page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) problems.push(`${page.url()}: console: ${m.text()}`);
  });
  page.on('requestfailed', (r) => {
    if (!r.url().startsWith(base)) problems.push(`${page.url()}: request to another origin: ${r.url()}`);
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith('data:') && !r.url().startsWith('blob:'))
      problems.push(`${page.url()}: request to another origin: ${r.url()}`);
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return { ctx, page };
}

const shot = async (page, name) => {
  await page.waitForTimeout(300); // let transitions settle
  const path = join(out, name + '.png');
  await page.screenshot({ path, fullPage: false });
  console.log('screenshot ' + path);
  return path;
};

function check(ok, what) {
  if (!ok) problems.push('check failed: ' + what);
}

// ---------- resident page ----------
{
  const { ctx, page } = await newPage('mobile');
  await page.goto(base + '/me/');
  await page.getByRole('button', { name: '登录' }).waitFor();
  await shot(page, 'me-01-login');

  await page.locator('input[name="code"]').fill('WB1.1.1.NOTAREALCARDCODE');
  await page.locator('input[name="pin"]').fill('1234');
  await page.getByRole('button', { name: '登录' }).click();
  await page.getByTestId('login-error').waitFor();
  check((await page.getByTestId('login-error').getAttribute('data-code')) === 'bad_credentials', 'bad_credentials shown');
  await shot(page, 'me-02-login-bad-credentials');

  // the lock, simulated (locking the demo household would block its use)
  await page.route('**/v1/auth/resident', (route) =>
    route.fulfill({
      status: 423,
      headers: { 'Content-Type': 'application/json', 'Retry-After': '900', 'X-Request-Id': 'test-locked' },
      body: JSON.stringify({ error: { code: 'pin_locked', message: 'locked', retry_after: 900, request_id: 'test-locked' } }),
    }),
  );
  await page.locator('input[name="pin"]').fill('1234');
  await page.getByRole('button', { name: '登录' }).click();
  await page.locator('[data-code="pin_locked"]').waitFor();
  check((await page.getByTestId('login-error').innerText()).includes('15 分钟'), 'pin_locked shows 15 minutes');
  await shot(page, 'me-03-login-pin-locked');
  await page.unroute('**/v1/auth/resident');

  await page.locator('input[name="code"]').fill(resident.code);
  await page.locator('input[name="pin"]').fill(resident.pin);
  await page.getByRole('button', { name: '登录' }).click();
  await page.getByTestId('balance').waitFor();
  await shot(page, 'me-04-home');

  await page.getByRole('button', { name: '出示付款码' }).click();
  await page.getByTestId('pay-code').waitFor();
  const code = await page.getByTestId('pay-code').getAttribute('data-code');
  const qrShot = await shot(page, 'me-05-paycode');
  check(/^\d{12}$/.test(code || ''), 'pay code has 12 digits');
  try {
    const decoded = execFileSync('zbarimg', ['--raw', '-q', qrShot], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    check(decoded === code, `QR decodes to the issued code (${decoded} vs ${code})`);
    console.log(`pay code ${code}: QR decoded by zbarimg as ${decoded}`);
  } catch (e) {
    if (e.code === 'ENOENT') console.log('zbarimg not installed: QR not decoded');
    else problems.push('zbarimg could not decode the pay-code QR');
  }

  await page.locator('.van-tabbar-item').nth(2).click();
  await page.locator('.van-cell').first().waitFor();
  await shot(page, 'me-06-history');

  await page.locator('.van-tabbar-item').nth(0).click();
  await page.getByTestId('balance').waitFor();
  await page.getByText('入户检查', { exact: true }).click();
  await page.getByTestId('month-summary').waitFor();
  await page.waitForTimeout(500);
  await shot(page, 'me-07-inspections');

  await page.locator('.van-tabbar-item').nth(3).click();
  await page.locator('.van-cell').first().waitFor();
  await shot(page, 'me-08-shops');
  await page.locator('.van-cell').first().click();
  await page.waitForURL(/#\/shops\/\d+/);
  await page.locator('.van-cell').first().waitFor();
  await page.waitForTimeout(300);
  await shot(page, 'me-09-shop-items');

  await page.locator('.van-tabbar-item').nth(0).click();
  await page.getByTestId('balance').waitFor();
  await page.locator('.wb-locale-switch').click();
  await page.getByText('My points', { exact: true }).first().waitFor();
  await shot(page, 'me-10-home-en');
  await page.locator('.van-tabbar-item').nth(1).click();
  await page.getByTestId('pay-code').waitFor();
  await shot(page, 'me-11-paycode-en');
  await page.locator('.van-tabbar-item').nth(0).click();
  await page.locator('.wb-locale-switch').click(); // back to 中文

  await page.getByRole('button', { name: '退出登录' }).click();
  await page.locator('.van-dialog__confirm').click();
  await page.locator('input[name="code"]').waitFor();
  const left = await page.evaluate(() => [...Object.keys(localStorage), ...Object.keys(sessionStorage)].filter((k) => /token/.test(k)));
  check(left.length === 0, 'no token left in storage after sign-out: ' + left.join(','));
  await ctx.close();
}

// ---------- console ----------
for (const role of ['region_admin', 'admin']) {
  const who = staff[role];
  if (!who) continue;
  const { ctx, page } = await newPage('desktop');
  await page.goto(base + '/console/');
  await page.locator('input[name="username"]').waitFor();
  if (role === 'region_admin') await shot(page, 'console-01-login');
  await page.locator('input[name="username"]').fill(who.username);
  await page.locator('input[name="password"]').fill(who.password);
  await page.getByRole('button', { name: '登录' }).click();
  await page.getByTestId('sign-out').waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid="region"]').textContent.trim() !== '');
  await shot(page, `console-02-shell-${role}`);
  await page.getByTestId('sign-out').click();
  await page.locator('input[name="username"]').waitFor();
  await ctx.close();
}

// ---------- station and till ----------
for (const [app, role] of [
  ['station', 'attendant'],
  ['till', 'clerk'],
]) {
  const who = staff[role];
  const { ctx, page } = await newPage('mobile');
  await page.goto(`${base}/${app}/`);
  await page.locator('input[name="username"]').waitFor();
  await shot(page, `${app}-01-login`);
  await page.locator('input[name="username"]').fill(who.username);
  await page.locator('input[name="password"]').fill(who.password);
  await page.getByRole('button', { name: '登录' }).click();
  await page.getByRole('button', { name: '退出登录' }).waitFor();
  await page.waitForTimeout(500);
  await shot(page, `${app}-02-shell`);
  await page.getByRole('button', { name: '退出登录' }).click();
  await page.locator('.van-dialog__confirm').click();
  await page.locator('input[name="username"]').waitFor();
  await ctx.close();
}

await browser.close();
if (server) server.close();
if (problems.length) {
  for (const p of problems) console.error('PROBLEM ' + p);
  process.exit(1);
}
console.log(`screenshots: ok (${out})`);
