// The resident page: a resident signs in with the card and PIN (a wrong PIN
// says so), sees the balance an adjustment left, the pay code as a large QR
// (a screenshot of it, decoded with zbarimg, is the pay_code the API issued),
// the shops of the county with their items (not another county's), the
// history (the adjustment) and the inspections (one, by an inspector).
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { api, check, page, run, shot, staff, tag, world, BASE, OUT } from './lib.mjs';

const T = 10000;

await run(async (b) => {
  const w = await world();
  const h = await api('/v1/households', { method: 'POST', token: w.admin, body: { region_id: w.village.id, head_name: '王秀英', address: '测试村1号', pin: '2580' } });
  await api(`/v1/households/${h.id}/adjustments`, { method: 'POST', token: w.admin, headers: { 'Idempotency-Key': `web-${h.id}` }, body: { points: 321, reason: '浏览器测试' } });
  // a shop of the county with two items, and one of another county
  const shop = await api('/v1/shops', { method: 'POST', token: w.admin, body: { region_id: w.village.id, name: `便民店 ${tag()}`, address: '测试村小卖部' } });
  const soap = await api(`/v1/shops/${shop.id}/items`, { method: 'POST', token: w.admin, body: { name: '洗衣皂', points: 120, stock: 8 } });
  const rice = await api(`/v1/shops/${shop.id}/items`, { method: 'POST', token: w.admin, body: { name: '大米 5kg', points: 1000 } });
  const countyB = await w.region(w.city.id, 'county', '乙县');
  const villageB = await w.region(countyB.id, 'village', '乙村');
  const shopB = await api('/v1/shops', { method: 'POST', token: w.admin, body: { region_id: villageB.id, name: `乙县超市 ${tag()}`, address: '乙村' } });
  // an inspection of the household
  const insp = await staff(w.admin, { role: 'inspector', region_id: w.village.id });
  await api('/v1/inspections', {
    method: 'POST',
    token: insp.token,
    headers: { 'Idempotency-Key': `insp-${h.id}` },
    body: { household_id: h.id, result: 'pass', streams: [{ stream: 'recyclable', correct: true }, { stream: 'kitchen', correct: true }] },
  });

  const p = await page(b, { name: 'me' });
  const tid = (id) => p.locator(`[data-testid=${id}]`);
  await p.goto(`${BASE}/me/`);
  await p.locator('input').first().fill(h.code);
  await p.locator('input[type=password]').fill('1111');
  await p.locator('button[type=submit]').click();
  const err = tid('login-error');
  await err.waitFor({ timeout: T });
  check((await err.getAttribute('data-code')) === 'bad_credentials', 'a wrong PIN is refused, and says why');
  await p.locator('input[type=password]').fill('2580');
  await p.locator('button[type=submit]').click();
  const bal = tid('balance');
  await bal.waitFor({ timeout: T });
  check((await bal.innerText()).replace(/\D/g, '') === '321', 'the balance the adjustment left is shown');
  check((await tid('greeting').innerText()).includes('王秀英'), 'the greeting names the head of the household');
  await shot(p, 'me-home');

  // the pay code: a QR big enough to scan, that decodes to the issued code
  const issued = p.waitForResponse((r) => r.url().endsWith('/v1/residents/pay-code') && r.request().method() === 'POST');
  await p.locator('.van-tabbar-item', { hasText: '付款码' }).click();
  const answer = await issued;
  const payCode = (await answer.json()).pay_code;
  check(answer.status() === 200 && /^\d{12}$/.test(payCode), `the API issued a pay code (${payCode})`);
  const qr = tid('pay-qr');
  await qr.waitFor({ timeout: T });
  await p.waitForFunction((c) => document.querySelector('[data-testid=pay-code]')?.dataset.code === c, payCode, { timeout: T });
  const box = await qr.boundingBox();
  check(box && box.width >= 250 && Math.abs(box.width - box.height) < 1, `the QR is large (${box && Math.round(box.width)} px)`);
  mkdirSync(OUT, { recursive: true });
  const file = join(OUT, 'me-pay-qr.png');
  await qr.screenshot({ path: file });
  const read = execFileSync('zbarimg', ['--raw', '-q', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  check(read === payCode, `zbarimg reads the QR as the issued pay code (${read})`);
  check((await tid('pay-code').innerText()).replace(/\s/g, '') === payCode, 'and the digits under it are the same');
  await shot(p, 'me-pay');

  // the shops of the county, and their items
  await p.locator('.van-tabbar-item', { hasText: '商店' }).click();
  await tid('shop').first().waitFor({ timeout: T });
  const shops = await tid('shop').allInnerTexts();
  check(shops.some((s) => s.includes(shop.name) && s.includes('测试村小卖部')), 'the shop of the county is listed with its address');
  check(!shops.some((s) => s.includes(shopB.name)), 'the shop of another county is not');
  await shot(p, 'me-shops');
  await p.locator(`[data-testid=shop][data-id="${shop.id}"]`).click();
  await tid('item').first().waitFor({ timeout: T });
  const items = await tid('item').evaluateAll((els) => els.map((e) => ({ id: Number(e.dataset.id), points: Number(e.dataset.points), text: e.innerText })));
  const itemOf = (x) => items.find((i) => i.id === x.id);
  check(items.length === 2 && itemOf(soap) && itemOf(rice), 'its two items are listed');
  check(itemOf(soap) && itemOf(soap).points === 120 && itemOf(soap).text.includes('洗衣皂') && itemOf(soap).text.includes('120'), 'each with its name and points');
  check(itemOf(soap) && /8/.test(itemOf(soap).text), 'and the stock where there is one');
  check(itemOf(soap) && itemOf(soap).text.includes('积分够') && !itemOf(rice).text.includes('积分够'), 'the affordable one (120 of 321 points) is marked, the other not');
  check((await tid('shop-address').innerText()).includes('测试村小卖部'), 'the shop\'s address heads its items');
  await shot(p, 'me-shop-items');

  // the history: the adjustment
  await p.locator('.van-tabbar-item', { hasText: '明细' }).click();
  await tid('ledger-row').first().waitFor({ timeout: T });
  const rows = await tid('ledger-row').evaluateAll((els) => els.map((e) => ({ kind: e.dataset.kind, delta: Number(e.dataset.delta), text: e.innerText })));
  check(rows.length === 1 && rows[0].kind === 'adjustment' && rows[0].delta === 321 && rows[0].text.includes('+321'), `the history shows the adjustment (+321): ${JSON.stringify(rows)}`);
  await shot(p, 'me-history');

  // the inspections: one pass this month
  await p.locator('.van-tabbar-item', { hasText: '首页' }).click();
  await tid('open-inspections').click();
  await tid('inspection').first().waitFor({ timeout: T });
  const insps = await tid('inspection').evaluateAll((els) => els.map((e) => e.dataset.result));
  check(insps.length === 1 && insps[0] === 'pass', `the inspections show the one inspection, passed (${insps})`);
  check((await tid('month-summary').innerText()).includes('100'), 'this month\'s accuracy is 100 %');
  await shot(p, 'me-inspections');
});
