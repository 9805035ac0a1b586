// The console's catalogue sections. Categories & rates: the admin creates a
// category (a taken code first: the 409 shows on the code field), sets its
// default rate from ten days ago and then a rate for a test village from
// now; GET /v1/rates and a drop-off recorded afterwards through the API use
// the village's rate, and the category's history shows both versions.
// Shops & items: a shop named <img src=x onerror=alert(1)> and an item; the
// item's stock is edited and the item withdrawn, checked through the API;
// names show as text and no dialog is raised. A region admin of another
// county is not offered category creation and sees none of the first
// county's shops (asking for its village is "not found").
import { api, ADMIN, BASE, check, page, run, shot, staff, tag, world } from './lib.mjs';

const T = 15000;
const XSS = '<img src=x onerror=alert(1)>';

async function signIn(p, username, password) {
  await p.goto(`${BASE}/console/`);
  await p.locator('input[name=username]').fill(username);
  await p.locator('input[name=password]').fill(password);
  await p.locator('button[type=submit]').click();
  await p.locator('[data-testid=sign-out]').waitFor({ timeout: T });
}

// Fill a number input and leave it (its change event), without moving the
// focus on to the next field (a date picker would open).
async function setNumber(loc, v) {
  const input = loc.locator('input').first();
  await input.fill(String(v));
  await input.evaluate((e) => e.blur());
}

// No message toast and no drawer or dialog in motion: ready for a screenshot.
async function still(p) {
  await p.waitForFunction(() => !document.querySelector('.el-message'), null, { timeout: T });
  await p.waitForTimeout(400);
}

// The value a region chooser shows, once its path has loaded.
async function chooserShows(p, testid, name) {
  await p.waitForFunction(
    ([id, n]) => [...document.querySelectorAll(`[data-testid=${id}] input`)].some((i) => i.value.includes(n)),
    [testid, name],
    { timeout: T },
  );
  return p.locator(`[data-testid=${testid}] input`).first().inputValue();
}

function pad(n) {
  return String(n).padStart(2, '0');
}

function pickerText(d) {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

async function allPages(path, token) {
  const out = [];
  let cursor = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const ans = await api(`${path}${sep}limit=500${cursor ? `&cursor=${cursor}` : ''}`, { token });
    out.push(...ans.items);
    cursor = ans.next_cursor;
  } while (cursor);
  return out;
}

await run(async (b) => {
  const started = Date.now();
  const w = await world();
  const countyB = await w.region(w.city.id, 'county', '乙县');
  const adminB = await staff(w.admin, { role: 'region_admin', region_id: countyB.id });
  const site = await api('/v1/sites', { method: 'POST', token: w.admin, body: { region_id: w.town.id, name: `回收点 ${tag()}`, tier: 'dropoff', network: 'recycling', address: '镇东' } });
  const attendant = await staff(w.admin, { role: 'attendant', region_id: w.town.id, site_id: site.id });
  const hh = await api('/v1/households', { method: 'POST', token: w.admin, body: { region_id: w.village.id, head_name: `称重户${tag(3)}`, address: '村西1号' } });

  const p = await page(b, { mobile: false, name: 'console-catalogue' });
  await p.setViewportSize({ width: 1366, height: 1200 }); // the whole catalogue on one screen
  let dialogs = 0;
  p.on('dialog', async (d) => {
    dialogs++;
    await d.dismiss();
  });
  await signIn(p, ADMIN.username, ADMIN.password);

  // ---- a new category: a taken code first, then a fresh one
  await p.goto(`${BASE}/console/#/rates`);
  const table = p.locator('[data-testid=rates-table]');
  await table.locator('tbody tr', { hasText: 'paper' }).waitFor({ timeout: T });
  check((await p.locator('[data-testid=rates-scope]').innerText()).includes('默认'), 'without a region the admin sees the default rates');
  await p.locator('[data-testid=category-create]').click();
  const cf = p.locator('[data-testid=category-form]');
  await cf.locator('input[name=code]').fill('paper');
  await cf.locator('input[name=name_zh]').fill(XSS);
  await cf.locator('input[name=name]').fill('Test sacks');
  await p.locator('[data-testid=category-save]').click();
  const codeErr = cf.locator('.el-form-item.is-error', { hasText: '品类代码' });
  await codeErr.locator('.el-form-item__error').waitFor({ timeout: T });
  check((await codeErr.innerText()).includes('已被使用'), `a taken code is refused on the code field (${(await codeErr.innerText()).replace(/\s+/g, ' ')})`);
  await shot(p, 'catalogue-category-taken');
  const code = `wc_${tag(8)}`;
  await cf.locator('input[name=code]').fill(code);
  await p.locator('[data-testid=category-save]').click();
  const catRow = table.locator('tbody tr', { hasText: code });
  await catRow.waitFor({ timeout: T });
  check((await catRow.innerText()).includes(XSS) && (await catRow.innerText()).includes('未定价'), 'the new category is listed by its Chinese name, as text, with no rate yet');
  const cats = await allPages('/v1/categories', w.admin);
  const cat = cats.find((c) => c.code === code);
  check(cat && cat.name_zh === XSS && cat.name === 'Test sacks' && cat.unit === 'g' && cat.daily_cap === null && cat.rate === null, `the category is stored (${JSON.stringify(cat)})`);

  // ---- its default rate, from ten days ago (region left empty)
  await catRow.locator('[data-testid=rate-change]').click();
  const rf = p.locator('[data-testid=rate-form]');
  await rf.waitFor({ timeout: T });
  check((await rf.locator('[data-testid=rate-region] input').inputValue()) === '', 'the admin\'s new version starts as the default (no region)');
  await setNumber(p.locator('[data-testid=rate-points]'), 25);
  const tenDaysAgo = new Date(Date.now() - 10 * 86400e3);
  const from = rf.locator('[data-testid=rate-from] input');
  await from.click();
  await from.fill(pickerText(tenDaysAgo));
  await from.press('Enter');
  await p.locator('.el-dialog__title', { hasText: '新增单价版本' }).click(); // close the picker panel
  await shot(p, 'catalogue-rate-default-form');
  await p.locator('[data-testid=rate-save]').click();
  await catRow.locator('[data-testid=rate-in-force]', { hasText: '25 积分/千克' }).waitFor({ timeout: T });
  check((await catRow.innerText()).includes('默认'), 'the default rate is in force province-wide');

  // ---- the village's own rate, from now
  await p.goto(`${BASE}/console/#/rates?region_id=${w.village.id}`);
  await p.locator('[data-testid=rates-scope]', { hasText: w.village.name }).waitFor({ timeout: T });
  await catRow.locator('[data-testid=rate-in-force]', { hasText: '25 积分/千克' }).waitFor({ timeout: T });
  check(true, 'the village inherits the default rate');
  const cascaderText = await chooserShows(p, 'rates-region', w.village.name);
  check(cascaderText.includes(w.village.name) && cascaderText.includes(w.county.name), `the region chooser shows the village's path (${cascaderText})`);
  await catRow.locator('[data-testid=rate-change]').click();
  await rf.waitFor({ timeout: T });
  await chooserShows(p, 'rate-region', w.village.name);
  check(true, 'the new version is for the village the page shows');
  // a required field left empty is named before anything is sent
  await p.locator('[data-testid=rate-save]').click();
  const ppuErr = rf.locator('.el-form-item.is-error', { hasText: '单价（积分）' });
  await ppuErr.locator('.el-form-item__error').waitFor({ timeout: T });
  check((await ppuErr.innerText()).includes('请填写'), 'a missing rate is shown on its field');
  await setNumber(p.locator('[data-testid=rate-points]'), 70);
  await shot(p, 'catalogue-rate-village-form');
  await p.locator('[data-testid=rate-save]').click();
  await catRow.locator('[data-testid=rate-in-force]', { hasText: '70 积分/千克' }).waitFor({ timeout: T });
  check((await catRow.innerText()).includes(w.village.name), 'the village\'s rate is in force there, named by the village');
  await still(p);
  await shot(p, 'catalogue-rates-village');

  const now = await api(`/v1/rates?category=${code}&region_id=${w.village.id}&in_force=true`, { token: w.admin });
  check(now.items.length === 1 && now.items[0].points_per_unit === 70 && now.items[0].region_id === w.village.id && now.items[0].region_name === w.village.name,
    `GET /v1/rates says the village's 70 is in force (${JSON.stringify(now.items)})`);
  const hist = await api(`/v1/rates?category=${code}&region_id=${w.village.id}`, { token: w.admin });
  check(hist.items.length === 2 && hist.items[1].region_id === null && hist.items[1].points_per_unit === 25 && !hist.items[1].in_force,
    'the default version is in the history, no longer in force in the village');
  const drop = await api('/v1/dropoffs', {
    method: 'POST',
    token: attendant.token,
    headers: { 'Idempotency-Key': `web-cat-${tag(12)}` },
    body: { code: hh.code, items: [{ category: code, grams: 1500 }] },
  });
  check(drop.items[0].rate === 70 && drop.points === 105, `a drop-off recorded afterwards is paid at 70 per kg (${JSON.stringify(drop.items)})`);

  // ---- the category's history
  await catRow.locator('[data-testid=rate-history-open]').click();
  const ht = p.locator('[data-testid=rate-history]');
  await ht.locator('tbody tr').nth(1).waitFor({ timeout: T });
  const rowsText = await ht.locator('tbody tr').allInnerTexts();
  check(rowsText.length === 2 && rowsText[0].includes('70 积分/千克') && rowsText[0].includes('现行') && rowsText[0].includes(w.village.name) &&
    rowsText[1].includes('25 积分/千克') && rowsText[1].includes('已被取代') && rowsText[1].includes('默认') && rowsText[1].includes(hist.items[1].effective_from.slice(0, 16).replace('T', ' ')),
    `the history shows both versions (${rowsText.map((s) => s.replace(/\s+/g, ' ')).join(' | ')})`);
  check((await p.locator('.el-drawer__title').innerText()).includes(XSS), 'the history is titled with the category name, as text');
  await still(p);
  await shot(p, 'catalogue-rate-history');
  await p.keyboard.press('Escape');

  // ---- a shop named like markup, in the village, and an item
  await p.goto(`${BASE}/console/#/shops?region_id=${w.village.id}`);
  await p.locator('[data-testid=shops-scope]', { hasText: w.village.name }).waitFor({ timeout: T });
  await p.locator('[data-testid=shops-table] .el-table__empty-text').waitFor({ timeout: T });
  check((await p.locator('[data-testid=shops-table]').innerText()).includes('暂无商店'), 'an empty region says it has no shops');
  await p.locator('[data-testid=shop-create]').click();
  const sf = p.locator('[data-testid=shop-form]');
  await chooserShows(p, 'shop-region', w.village.name);
  await sf.locator('input[name=name]').fill(XSS);
  await sf.locator('input[name=address]').fill('村口 2 号');
  await p.locator('[data-testid=shop-save]').click();
  const it = p.locator('[data-testid=items-table]');
  await it.waitFor({ timeout: T });
  check((await p.locator('.el-drawer__title').innerText()).includes(XSS), 'the new shop\'s items open, titled with its name as text');
  await p.locator('[data-testid=item-create]').click();
  const itf = p.locator('[data-testid=item-form]');
  await itf.waitFor({ timeout: T });
  await itf.locator('input[name=item-name]').fill(`肥皂 ${XSS}`);
  await setNumber(p.locator('[data-testid=item-points]'), 30);
  await setNumber(p.locator('[data-testid=item-stock]'), 5);
  await p.locator('[data-testid=item-save]').click();
  const itemRow = it.locator('tbody tr', { hasText: '肥皂' });
  await itemRow.waitFor({ timeout: T });
  check((await itemRow.innerText()).includes(XSS) && (await itemRow.innerText()).includes('在售'), 'the item is listed, its name as text');
  const shops = await allPages(`/v1/shops?region_id=${w.village.id}`, w.admin);
  const shop = shops.find((s) => s.name === XSS);
  check(shop && shop.address === '村口 2 号' && shop.region_id === w.village.id, `the shop is stored (${JSON.stringify(shop)})`);
  const items0 = shop ? await allPages(`/v1/shops/${shop.id}/items`, w.admin) : [];
  check(items0.length === 1 && items0[0].name === `肥皂 ${XSS}` && items0[0].points === 30 && items0[0].stock === 5 && items0[0].active === true,
    `the item is stored (${JSON.stringify(items0)})`);

  // edit its stock
  await itemRow.locator('[data-testid=item-edit]').click();
  await p.locator('[data-testid=item-form]:visible').waitFor({ timeout: T });
  await setNumber(p.locator('[data-testid=item-stock]:visible'), 3);
  await still(p);
  await shot(p, 'catalogue-item-edit');
  await p.locator('[data-testid=item-save]:visible').click();
  await itemRow.locator('[data-testid=item-stock-cell]', { hasText: /^3$/ }).waitFor({ timeout: T });
  const items1 = await allPages(`/v1/shops/${shop.id}/items`, w.admin);
  check(items1[0].stock === 3 && items1[0].points === 30 && items1[0].active === true, `the stock is 3 (${JSON.stringify(items1)})`);

  // withdraw it (asked first)
  await itemRow.locator('[data-testid=item-withdraw]').click();
  const box = p.locator('.el-message-box');
  await box.waitFor({ timeout: T });
  check((await box.innerText()).includes(XSS), 'the confirmation names the item as text');
  await still(p);
  await shot(p, 'catalogue-item-withdraw-confirm');
  await box.locator('.el-message-box__btns .el-button--primary').click();
  await itemRow.locator('[data-testid=item-state]', { hasText: '已下架' }).waitFor({ timeout: T });
  const items2 = await allPages(`/v1/shops/${shop.id}/items`, w.admin);
  check(items2[0].active === false && items2[0].stock === 3, `the item is withdrawn (${JSON.stringify(items2)})`);
  await still(p);
  await shot(p, 'catalogue-shop-items');
  await p.keyboard.press('Escape');
  await p.locator('.el-drawer').waitFor({ state: 'hidden', timeout: T });
  const shopRow = p.locator('[data-testid=shops-table] tbody tr', { hasText: XSS });
  await shopRow.waitFor({ timeout: T });
  check((await shopRow.innerText()).includes(w.village.name), 'the shop is listed with its region\'s path');
  await still(p);
  await shot(p, 'catalogue-shops');
  check(dialogs === 0 && (await p.locator('img[src="x"]').count()) === 0, 'no markup from names ran: no dialog, no image');

  // ---- a region admin of another county
  const q = await page(b, { mobile: false, name: 'console-catalogue-county-b' });
  q.on('dialog', async (d) => {
    dialogs++;
    await d.dismiss();
  });
  await signIn(q, adminB.username, adminB.password);
  await q.goto(`${BASE}/console/#/rates`);
  await q.locator('[data-testid=rates-table] tbody tr', { hasText: code }).waitFor({ timeout: T });
  check((await q.locator('[data-testid=category-create]').count()) === 0, 'a region admin is not offered category creation');
  check((await q.locator('[data-testid=rates-scope]').innerText()).includes(countyB.name), 'the region admin sees the rates of its county');
  check((await q.locator('[data-testid=rates-table] tbody tr', { hasText: code }).innerText()).includes('25 积分/千克'), 'its county has the default rate, not the other county\'s village rate');
  await q.locator('[data-testid=rate-create]').click();
  await chooserShows(q, 'rate-region', countyB.name);
  await q.locator('[data-testid=rate-region] .el-cascader').click();
  const top = q.locator('.el-cascader__dropdown:visible .el-cascader-menu').first().locator('.el-cascader-node');
  await top.first().waitFor({ timeout: T });
  const offered = await top.allInnerTexts();
  check(offered.length === 1 && offered[0].includes(countyB.name), `the region chooser offers only its own county (${offered.join(' | ')})`);
  await shot(q, 'catalogue-county-b-rate-form');
  await q.keyboard.press('Escape');
  await q.goto(`${BASE}/console/#/shops`);
  await q.locator('[data-testid=shops-scope]', { hasText: countyB.name }).waitFor({ timeout: T });
  await q.locator('[data-testid=shops-table] .el-table__empty-text').waitFor({ timeout: T });
  check(!(await q.locator('[data-testid=shops-table]').innerText()).includes(XSS), 'the other county\'s shop is not listed');
  await q.goto(`${BASE}/console/#/shops?region_id=${w.village.id}`);
  const err = q.locator('[data-testid=shops-top-error]');
  await err.waitFor({ timeout: T });
  check((await err.innerText()).includes('不在您的管辖范围内') && (await q.locator('[data-testid=shops-table]').count()) === 0 && !(await q.locator('main').innerText()).includes(XSS),
    'the other county\'s village is not found, and nothing of it is shown');
  await shot(q, 'catalogue-county-b-shops');
  // the same in English
  await q.locator('.wb-locale-switch').click();
  await q.goto(`${BASE}/console/#/rates`);
  await q.locator('[data-testid=rates-table] tbody tr', { hasText: code }).waitFor({ timeout: T });
  const en = await q.locator('main').innerText();
  check(en.includes('Categories & rates') && en.includes('Test sacks') && en.includes('25 points/kg'), 'in English, the category by its English name and its rate');
  await still(q);
  await shot(q, 'catalogue-county-b-rates-en');
  check(dialogs === 0, 'no dialog was raised');

  check(Date.now() - started < 90000, `the spec ran in ${Math.round((Date.now() - started) / 1000)} s`);
});
