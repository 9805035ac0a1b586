// The four apps against script injection and left-over sessions:
//  - a household whose head name and address are `<img src=x onerror=alert(1)>`
//    (in a village, a drop-off site and a shop of that name too) shows as
//    literal text wherever it appears: the console's household list and its
//    card and edit dialogs, the station's place and scan result, the till's
//    place, scan result and catalogue, the resident page's home and shops;
//    no element is made of it and no dialog is ever raised;
//  - every app's index.html answer carries a Content-Security-Policy whose
//    script-src has no 'unsafe-inline', and holds no inline script;
//  - after sign-out in each app no token remains in localStorage,
//    sessionStorage, IndexedDB or cookies, and the server refuses it.
import { ADMIN, BASE, api, check, page, problems, run, shot, staff, world } from './lib.mjs';

const XSS = '<img src=x onerror=alert(1)>';
const MASKED = XSS[0] + '*'.repeat([...XSS].length - 1); // the API's masked form
const T = 15000;
const APPS = ['console', 'station', 'till', 'me'];
const code = () => String(Math.floor(1e11 + Math.random() * 8e11));

// ---- the answers of the apps' pages

async function headers() {
  for (const app of APPS) {
    for (const path of [`/${app}/`, `/${app}/index.html`, `/${app}/some/route`]) {
      const r = await fetch(BASE + path);
      const csp = r.headers.get('content-security-policy') || '';
      const directives = Object.fromEntries(
        csp.split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map(([k, ...v]) => [k.toLowerCase(), v]),
      );
      const scripts = directives['script-src'] || directives['default-src'] || [];
      check(r.status === 200 && (r.headers.get('content-type') || '').startsWith('text/html'), `${path} answers its index.html (${r.status})`);
      check(csp && scripts.length && !scripts.includes("'unsafe-inline'") && !scripts.includes("'unsafe-eval'") && !scripts.some((s) => s === '*' || s.startsWith('http')),
        `${path} carries a Content-Security-Policy without 'unsafe-inline' in script-src (${scripts.join(' ')})`);
      const html = await r.text();
      const inline = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)].filter(([, attrs, body]) => !/\bsrc\s*=/.test(attrs) || body.trim());
      check(/<script\b/i.test(html) && inline.length === 0, `${path} has no inline <script>`);
      check(!/\son[a-z]+\s*=/i.test(html), `${path} has no inline event handler`);
    }
  }
}

// ---- in the pages

function guard(p, name) {
  p.on('dialog', async (d) => {
    problems.push(`${name}: a ${d.type()} dialog was raised: ${d.message()}`);
    await d.dismiss().catch(() => {});
  });
  return p;
}

async function noInjectedElement(p, where) {
  const n = await p.evaluate(() => document.querySelectorAll('img[src="x"], [onerror]').length);
  check(n === 0, `${where}: no element was made of the name`);
}

async function literal(p, locator, want, where) {
  await locator.first().waitFor({ timeout: T });
  const text = await locator.first().innerText();
  check(text.includes(want), `${where} shows ${JSON.stringify(want)} as literal text`);
}

// the token the sign-in answered, from the page's own request
function tokenOf(p, path) {
  return p
    .waitForResponse((r) => r.url().endsWith(path) && r.request().method() === 'POST', { timeout: T })
    .then(async (r) => (await r.json()).token);
}

async function noTokenLeft(p, token, app) {
  const s = await p.evaluate(async () => {
    const dump = (st) => Object.fromEntries(Array.from({ length: st.length }, (_, i) => st.key(i)).map((k) => [k, st.getItem(k)]));
    const idb = {};
    for (const { name } of await indexedDB.databases()) {
      idb[name] = await new Promise((resolve) => {
        const open = indexedDB.open(name);
        open.onerror = () => resolve(null);
        open.onsuccess = async () => {
          const db = open.result;
          const out = {};
          for (const store of db.objectStoreNames) {
            out[store] = await new Promise((res) => {
              const q = db.transaction(store).objectStore(store).getAll();
              q.onsuccess = () => res(q.result);
              q.onerror = () => res(null);
            });
          }
          db.close();
          resolve(out);
        };
      });
    }
    return { local: dump(localStorage), session: dump(sessionStorage), idb };
  });
  const cookies = await p.context().cookies();
  const all = JSON.stringify({ ...s, cookies });
  const jwt = /eyJ[\w-]+\.[\w-]+\.[\w-]+/;
  check(token && token.length > 20, `${app}: the sign-in answered a token`);
  check(!all.includes(token), `${app}: after sign-out the token is in no storage (local, session, IndexedDB, cookies)`);
  const keys = [...Object.keys(s.local), ...Object.keys(s.session), ...cookies.map((c) => c.name)];
  check(!keys.some((k) => /token|session|auth|jwt/i.test(k)), `${app}: and no key holds a token (${keys.join(', ') || 'none'})`);
  check(!jwt.test(all), `${app}: nor any other JWT`);
  await api('/v1/auth/me', { token, want: 401 });
  check(true, `${app}: the server refuses the token after sign-out`);
}

async function confirmVant(p) {
  await p.locator('.van-dialog__confirm').click();
}

await run(async (b) => {
  await headers();

  const w = await world();
  const village = await api('/v1/regions', { method: 'POST', token: w.admin, body: { parent_id: w.town.id, level: 'village', name: XSS, code: code() } });
  check(village.name === XSS, 'the API stores the village name as given');
  const hx = await api('/v1/households', { method: 'POST', token: w.admin, body: { region_id: village.id, head_name: XSS, address: XSS, pin: '2468' } });
  const hy = await api('/v1/households', { method: 'POST', token: w.admin, body: { region_id: village.id, head_name: '陈立新', address: XSS, pin: '1357' } });
  check(hx.head_name === XSS && hx.address === XSS, 'the API stores the head name and address as given');
  await api(`/v1/households/${hx.id}/adjustments`, { method: 'POST', token: w.admin, headers: { 'Idempotency-Key': `xss-${hx.id}` }, body: { points: 500, reason: XSS } });
  const site = await api('/v1/sites', { method: 'POST', token: w.admin, body: { region_id: village.id, name: XSS, tier: 'dropoff', network: 'integrated', address: XSS } });
  const shop = await api('/v1/shops', { method: 'POST', token: w.admin, body: { region_id: village.id, name: XSS, address: XSS } });
  const item = await api(`/v1/shops/${shop.id}/items`, { method: 'POST', token: w.admin, body: { name: XSS, points: 50, stock: 5 } });
  const att = await staff(w.admin, { role: 'attendant', region_id: village.id, site_id: site.id });
  const clerk = await staff(w.admin, { role: 'clerk', region_id: village.id, shop_id: shop.id });

  // ---- console: the household list, its card and edit dialogs
  {
    const p = guard(await page(b, { mobile: false, name: 'console' }), 'console');
    await p.goto(`${BASE}/console/`);
    await p.locator('input[name=username]').fill(ADMIN.username);
    await p.locator('input[name=password]').fill(ADMIN.password);
    const token = tokenOf(p, '/v1/auth/login');
    await p.locator('button[type=submit]').click();
    await p.locator('[data-testid=sign-out]').waitFor({ timeout: T });
    const jwt = await token;

    await p.goto(`${BASE}/console/#/households?region_id=${village.id}`);
    const table = p.locator('[data-testid=hh-table]');
    await table.locator('tbody tr').nth(1).waitFor({ timeout: T });
    const cells = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.innerText.trim())));
    const byId = (id) => cells.find((c) => c[0] === String(id)) || [];
    check(byId(hx.id)[1] === XSS && byId(hx.id)[2] === XSS, `console list: the head name and address cells are the literal text (${JSON.stringify(byId(hx.id).slice(0, 3))})`);
    check(byId(hy.id)[1] === '陈立新' && byId(hy.id)[2] === XSS, 'console list: the other household\'s address cell too');
    await literal(p, p.locator('[data-testid=hh-region]'), XSS, 'console list: the region filter');
    await noInjectedElement(p, 'console list');
    await p.waitForTimeout(400); // the tags' zoom-in
    await shot(p, 'security-console-list');

    const row = table.locator('tbody tr').filter({ has: p.locator('td:first-child', { hasText: new RegExp(`^${hx.id}$`) }) });
    await row.locator('[data-testid=hh-card]').click();
    await p.locator('[data-testid=card-img]').waitFor({ timeout: T });
    await literal(p, p.locator('.el-dialog:visible .el-dialog__title'), XSS, 'console card dialog: its title');
    await noInjectedElement(p, 'console card dialog');
    await p.waitForTimeout(400);
    await shot(p, 'security-console-card');
    await p.keyboard.press('Escape');
    await p.waitForTimeout(400);
    await row.locator('[data-testid=hh-more]').click();
    await p.locator('.el-dropdown-menu__item:visible', { hasText: '编辑' }).click();
    const form = p.locator('[data-testid=hh-form]');
    await form.waitFor({ timeout: T });
    check((await form.locator('input[name=head_name]').inputValue()) === XSS && (await form.locator('input[name=address]').inputValue()) === XSS,
      'console edit dialog: the head name and address are the literal text in their fields');
    await noInjectedElement(p, 'console edit dialog');
    await p.waitForTimeout(400);
    await shot(p, 'security-console-edit');
    await p.keyboard.press('Escape');
    await p.waitForTimeout(400);

    await p.locator('[data-testid=sign-out]').click();
    await p.locator('input[name=username]').waitFor({ timeout: T });
    await noTokenLeft(p, jwt, 'console');
  }

  // ---- station: its place and the scan result
  {
    const p = guard(await page(b, { name: 'station' }), 'station');
    await p.goto(`${BASE}/station/`);
    await p.locator('input[name=username]').fill(att.username);
    await p.locator('input[name=password]').fill(att.password);
    const token = tokenOf(p, '/v1/auth/login');
    await p.locator('button[type=submit]').click();
    await literal(p, p.locator('[data-testid=place]'), XSS, 'station: the site name');
    const jwt = await token;
    const input = p.locator('[data-testid=code] input');
    await input.fill(hx.code);
    await input.press('Enter');
    const hh = p.locator('[data-testid=household]');
    await literal(p, hh, XSS, 'station scan result: the village');
    await literal(p, hh, MASKED, 'station scan result: the masked head name');
    await literal(p, p.locator('[data-testid=balance]'), '500', 'station scan result: the balance');
    await noInjectedElement(p, 'station scan result');
    await shot(p, 'security-station-scan');
    await p.locator('.wb-pad button', { hasText: '退出登录' }).click();
    await confirmVant(p);
    await p.locator('input[name=username]').waitFor({ timeout: T });
    await noTokenLeft(p, jwt, 'station');
  }

  // ---- till: its place, the scan result and the catalogue
  {
    const p = guard(await page(b, { name: 'till' }), 'till');
    await p.goto(`${BASE}/till/`);
    await p.locator('input[name=username]').fill(clerk.username);
    await p.locator('input[name=password]').fill(clerk.password);
    const token = tokenOf(p, '/v1/auth/login');
    await p.locator('button[type=submit]').click();
    await literal(p, p.locator('[data-testid=place]'), XSS, 'till: the shop name');
    const jwt = await token;
    const input = p.locator('[data-testid=code] input');
    await input.fill(hx.code);
    await input.press('Enter');
    const hh = p.locator('[data-testid=household]');
    await literal(p, hh, XSS, 'till scan result: the village');
    await literal(p, hh, MASKED, 'till scan result: the masked head name');
    await literal(p, p.locator(`[data-testid=item-${item.id}]`), XSS, 'till catalogue: the item name');
    await noInjectedElement(p, 'till scan result');
    await shot(p, 'security-till-scan');
    await p.locator('.wb-pad button', { hasText: '退出登录' }).last().click();
    await confirmVant(p);
    await p.locator('input[name=username]').waitFor({ timeout: T });
    await noTokenLeft(p, jwt, 'till');
  }

  // ---- resident page: home, history, shops and items
  {
    const p = guard(await page(b, { name: 'me' }), 'me');
    await p.goto(`${BASE}/me/`);
    await p.locator('input').first().fill(hx.code);
    await p.locator('input[type=password]').fill('2468');
    const token = tokenOf(p, '/v1/auth/resident');
    await p.locator('button[type=submit]').click();
    await literal(p, p.locator('[data-testid=greeting]'), XSS, 'resident home: the head name');
    await literal(p, p.locator('[data-testid=region]'), XSS, 'resident home: the village');
    const jwt = await token;
    await noInjectedElement(p, 'resident home');
    await shot(p, 'security-me-home');
    await p.goto(`${BASE}/me/#/history`);
    await literal(p, p.locator('[data-testid=ledger-row]'), XSS, 'resident history: the adjustment\'s reason');
    await noInjectedElement(p, 'resident history');
    await p.goto(`${BASE}/me/#/shops`);
    const s = p.locator(`[data-testid=shop][data-id="${shop.id}"]`);
    await literal(p, s, XSS, 'resident shops: the shop');
    check(((await s.innerText()).match(/<img src=x onerror=alert\(1\)>/g) || []).length === 2, 'resident shops: its name and its address, both literal');
    await s.click();
    await literal(p, p.locator(`[data-testid=item][data-id="${item.id}"]`), XSS, 'resident shop items: the item');
    await literal(p, p.locator('[data-testid=shop-address]'), XSS, 'resident shop items: the shop\'s address');
    await literal(p, p.locator('.van-nav-bar__title'), XSS, 'resident shop items: the shop\'s name in the title');
    await noInjectedElement(p, 'resident shop items');
    await shot(p, 'security-me-shop');
    await p.goto(`${BASE}/me/#/`);
    await p.locator('[data-testid=sign-out]').click();
    await confirmVant(p);
    await p.locator('input[type=password]').waitFor({ timeout: T });
    await noTokenLeft(p, jwt, 'me');
  }
});
