// The console's record sections: drop-offs and redemptions.  Through the API:
// a drop-off site with its attendant, a shop with its clerk and an item, a
// household whose name is markup (with a PIN), two drop-offs of it (one
// capped) and one of a neighbour, and a redemption by card and PIN.  In the
// console, as the admin: the drop-offs are listed with their points and
// flags; the household filter narrows to it; reversing one answers
// clawed_back and shortfall that the household's ledger and balance then
// show; a second reversal (from a page opened before) is refused as such;
// the redemption is listed with the period's totals, and voiding it gives the
// points back (the shortfall settled first).  The markup name is text
// everywhere and raises no dialog.  A region admin of another county sees no
// row of either list.
import { api, ADMIN, BASE, check, page, problems, run, shot, staff, tag, world } from './lib.mjs';

const T = 15000;
const XSS = '<img src=x onerror=alert(1)>';
const fmt = (n) => new Intl.NumberFormat('zh-CN').format(n);

async function signIn(p, username, password) {
  await p.goto(`${BASE}/console/`);
  await p.locator('input[name=username]').fill(username);
  await p.locator('input[name=password]').fill(password);
  await p.locator('button[type=submit]').click();
  await p.locator('[data-testid=sign-out]').waitFor({ timeout: T });
}

async function consolePage(b, name) {
  const p = await page(b, { mobile: false, name });
  p.on('dialog', async (d) => {
    problems.push(`${name}: a dialog was raised: ${d.message()}`);
    await d.dismiss().catch(() => {});
  });
  return p;
}

// The table's row whose first cell is `id`.
const rowOf = (p, table, id) =>
  p.locator(`[data-testid=${table}] tbody tr`).filter({ has: p.locator('td:first-child', { hasText: new RegExp(`^\\s*${id}\\s*$`) }) });

async function noMarkup(p, what) {
  check((await p.locator('img[src="x"]').count()) === 0, `${what}: the name made no element`);
}

async function confirmBox(p) {
  const btn = p.locator('.el-message-box__btns .el-button--danger');
  await btn.waitFor({ timeout: T });
  await btn.click();
}

await run(async (b) => {
  const started = Date.now();
  const w = await world();
  const countyB = await w.region(w.city.id, 'county', '乙县');
  const adminB = await staff(w.admin, { role: 'region_admin', region_id: countyB.id });

  // ---- the world: site + attendant, shop + clerk, households
  const site = await api('/v1/sites', { method: 'POST', token: w.admin, body: { region_id: w.village.id, name: `回收点 ${tag()}`, tier: 'dropoff', network: 'recycling', address: '村口' } });
  const att = await staff(w.admin, { role: 'attendant', region_id: w.village.id, site_id: site.id });
  const shop = await api('/v1/shops', { method: 'POST', token: w.admin, body: { region_id: w.village.id, name: `便民超市 ${tag()}`, address: '村委会旁' } });
  const clerk = await staff(w.admin, { role: 'clerk', region_id: w.village.id, shop_id: shop.id });
  const h = await api('/v1/households', { method: 'POST', token: w.admin, body: { region_id: w.village.id, head_name: XSS, address: '测试村1号', pin: '2468' } });
  const h2 = await api('/v1/households', { method: 'POST', token: w.admin, body: { region_id: w.village.id, head_name: `邻居${tag(3)}`, address: '测试村2号' } });
  const drop = (code, items) =>
    api('/v1/dropoffs', { method: 'POST', token: att.token, headers: { 'Idempotency-Key': `web-mv-${tag(12)}` }, body: { code, items } });
  const A = await drop(h.code, [{ category: 'paper', grams: 2350 }, { category: 'pesticide_container', count: 3 }]);
  const B = await drop(h.code, [{ category: 'plastic', grams: 40000 }]);
  const C = await drop(h2.code, [{ category: 'paper', grams: 1000 }]);
  check(A.points === 124 && !A.capped, `drop-off A earned ${A.points} points (94 + 30)`);
  check(B.points === 1000 && B.capped, `drop-off B is capped at ${B.points} points`);
  // the item costs more than B, so that reversing A finds part of it spent
  const price = B.points + Math.ceil(A.points / 2);
  const item = await api(`/v1/shops/${shop.id}/items`, { method: 'POST', token: w.admin, body: { name: `洗衣粉 ${tag(3)}`, points: price, stock: 10 } });
  const R = await api('/v1/redemptions', {
    method: 'POST',
    token: clerk.token,
    headers: { 'Idempotency-Key': `web-mv-${tag(12)}` },
    body: { code: h.code, pin: '2468', items: [{ item_id: item.id, qty: 1 }] },
  });
  const afterRedeem = A.points + B.points - price;
  check(R.points === price && R.balance === afterRedeem, `the clerk redeemed ${price} points (balance ${R.balance})`);

  // ---- the admin: the drop-offs
  const p = await consolePage(b, 'console-movements');
  await signIn(p, ADMIN.username, ADMIN.password);
  await p.locator('[data-testid=nav] a', { hasText: '投放记录' }).click();
  await rowOf(p, 'do-table', A.id).waitFor({ timeout: T });
  const rowA = rowOf(p, 'do-table', A.id);
  const rowB = rowOf(p, 'do-table', B.id);
  check((await rowA.locator('[data-testid=do-points]').innerText()).trim() === fmt(A.points), 'drop-off A is listed with its points');
  check((await rowB.locator('[data-testid=do-points]').innerText()).trim() === fmt(B.points), 'drop-off B is listed with its points');
  const textA = await rowA.innerText();
  check(textA.includes(site.name) && textA.includes('废纸及纸板 2.35 千克') && textA.includes('农药包装废弃物 3 件') && textA.includes(`#${h.id}`),
    `A's row names its site, household and weights by category (${textA.replace(/\s+/g, ' ')})`);
  check((await rowB.locator('[data-testid=do-flag-capped]').count()) === 1 && (await rowA.locator('[data-testid=do-flag-capped]').count()) === 0, 'B is flagged capped, A is not');
  check((await rowOf(p, 'do-table', C.id).count()) === 1, 'the neighbour\'s drop-off is listed too');
  await shot(p, 'dropoffs-list');

  // the household filter narrows to it
  await p.locator('input[name=household_id]').fill(String(h.id));
  await p.locator('[data-testid=do-search]').click();
  await p.waitForFunction((id) => location.hash.includes(`household_id=${id}`), h.id, { timeout: T });
  await p.waitForFunction(() => {
    const rows = document.querySelectorAll('[data-testid=do-table] tbody tr');
    return rows.length === 2 && !document.querySelector('[data-testid=do-table] .el-loading-mask');
  }, null, { timeout: T });
  check((await rowOf(p, 'do-table', A.id).count()) === 1 && (await rowOf(p, 'do-table', B.id).count()) === 1 && (await rowOf(p, 'do-table', C.id).count()) === 0,
    'the household filter leaves its two drop-offs');
  const tagText = await p.locator('[data-testid=do-household-tag]', { hasText: XSS }).innerText({ timeout: T });
  check(tagText.includes(XSS), `the filter names the household as text (${tagText})`);
  await noMarkup(p, 'the filtered list');
  await shot(p, 'dropoffs-household');

  // a second admin page opens A's drawer before the reversal
  const p2 = await consolePage(b, 'console-movements-2');
  await signIn(p2, ADMIN.username, ADMIN.password);
  await p2.goto(`${BASE}/console/#/dropoffs?household_id=${h.id}`);
  await rowOf(p2, 'do-table', A.id).locator('[data-testid=do-open]').click({ timeout: T });
  await p2.locator('[data-testid=do-reverse-submit]').waitFor({ timeout: T });

  // the detail of A, then its reversal
  await rowOf(p, 'do-table', A.id).locator('[data-testid=do-open]').click();
  const dh = p.locator('[data-testid=do-detail-household]', { hasText: XSS });
  await dh.waitFor({ timeout: T });
  check((await dh.innerText()).includes(`${XSS}（#${h.id}）`), 'the drawer names the household as text');
  const lines = p.locator('[data-testid=do-lines] tbody tr');
  const linesText = await p.locator('[data-testid=do-lines]').innerText();
  check((await lines.count()) === 2 && linesText.includes('40 分/千克') && linesText.includes('10 分/件') && linesText.includes('94') && linesText.includes('30'),
    `the drawer lists each line with its rate and points (${linesText.replace(/\s+/g, ' ')})`);
  check((await p.locator('[data-testid=do-detail-balance]').innerText()).includes(fmt(afterRedeem)), 'the drawer shows the balance now');
  await noMarkup(p, 'the drop-off drawer');
  await p.waitForTimeout(400);
  await shot(p, 'dropoff-detail');
  // a reason is required
  await p.locator('[data-testid=do-reverse-submit]').click();
  await p.locator('[data-testid=do-reverse-invalid]').waitFor({ timeout: T });
  check((await p.locator('.el-message-box').count()) === 0 || !(await p.locator('.el-message-box').isVisible()), 'no reason: nothing is asked or sent');
  await p.locator('[data-testid=do-reverse] input[name=reason]').fill('称重录错');
  await p.locator('[data-testid=do-reverse-submit]').click();
  await p.waitForTimeout(300);
  await shot(p, 'dropoff-reverse-confirm');
  await confirmBox(p);
  const res = p.locator('[data-testid=do-reverse-result]');
  await res.waitFor({ timeout: T });
  const clawed = Number(await res.getAttribute('data-clawed'));
  const shortfall = Number(await res.getAttribute('data-shortfall'));
  const shownBalance = Number(await res.getAttribute('data-balance'));
  const resText = await res.innerText();
  check(clawed === afterRedeem && shortfall === A.points - afterRedeem && shortfall > 0, `the reversal claws back ${clawed} and is short ${shortfall}`);
  check(resText.includes(`扣回 ${fmt(clawed)} 分`) && resText.includes(`不足 ${fmt(shortfall)} 分`), `and says so (${resText.replace(/\s+/g, ' ')})`);
  const ledger = await api(`/v1/households/${h.id}/ledger?limit=50`, { token: w.admin });
  const rev = ledger.items.filter((l) => l.kind === 'reversal' && l.ref_id === A.id);
  const hh = await api(`/v1/households/${h.id}`, { token: w.admin });
  check(rev.length === 1 && rev[0].delta === -clawed, `the ledger holds one reversal of −${clawed} (${JSON.stringify(rev)})`);
  check(hh.balance === shownBalance && hh.balance === afterRedeem - clawed, `the balance the API gives (${hh.balance}) is the one shown`);
  const stored = await api(`/v1/dropoffs/${A.id}`, { token: w.admin });
  check(stored.status === 'reversed' && stored.clawed_back === clawed && stored.shortfall === shortfall && stored.reverse_reason === '称重录错', 'the drop-off is stored reversed, with its reason');
  await p.locator('[data-testid=do-detail-status]', { hasText: '已撤销' }).waitFor({ timeout: T });
  check((await p.locator('[data-testid=do-reverse-submit]').count()) === 0, 'a reversed drop-off offers no second reversal');
  check((await p.locator('[data-testid=do-detail-clawed]').innerText()).trim() === fmt(clawed), 'the drawer shows what was clawed back');
  await p.waitForTimeout(300);
  await shot(p, 'dropoff-reversed');
  await p.keyboard.press('Escape');
  await rowA.locator('[data-testid=do-flag-reversed]').waitFor({ timeout: T });
  check(true, 'the list flags A reversed');

  // the page opened before tries again: refused, clearly
  await p2.locator('[data-testid=do-reverse] input[name=reason]').fill('重复录入');
  await p2.locator('[data-testid=do-reverse-submit]').click();
  await confirmBox(p2);
  const err2 = p2.locator('[data-testid=do-reverse-error]');
  await err2.waitFor({ timeout: T });
  check((await err2.getAttribute('data-code')) === 'already_reversed' && (await err2.innerText()).includes('已经撤销过'), `a second reversal is refused (${await err2.innerText()})`);
  await p2.locator('[data-testid=do-detail-status]', { hasText: '已撤销' }).waitFor({ timeout: T });
  check((await p2.locator('[data-testid=do-reverse-submit]').count()) === 0, 'and the drawer then shows it reversed');
  const hh2 = await api(`/v1/households/${h.id}`, { token: w.admin });
  check(hh2.balance === hh.balance, 'the refused reversal took nothing');
  await p2.waitForTimeout(300);
  await shot(p2, 'dropoff-reverse-refused');
  await p2.close();

  // ---- the admin: the redemptions
  await p.locator('[data-testid=nav] a', { hasText: '兑换记录' }).click();
  const rowR = rowOf(p, 'rd-table', R.id);
  await rowR.waitFor({ timeout: T });
  const textR = await rowR.innerText();
  const masked = '<' + '*'.repeat(XSS.length - 1);
  check((await rowR.locator('[data-testid=rd-points]').innerText()).trim() === fmt(price), 'the redemption is listed with its points');
  check(textR.includes(shop.name) && textR.includes(`${item.name} ×1`) && textR.includes(`${masked}（#${h.id}）`), `its row names the shop, the item and the household masked (${textR.replace(/\s+/g, ' ')})`);
  await p.locator('[data-testid=rd-total-count]').waitFor({ timeout: T });
  // the shop filter: the totals become the shop's
  await p.locator('[data-testid=rd-shop]').click();
  await p.locator('.el-select-dropdown__item:visible', { hasText: shop.name }).click();
  await p.locator('[data-testid=rd-search]').click();
  await p.waitForFunction((id) => location.hash.includes(`shop_id=${id}`), shop.id, { timeout: T });
  await p.waitForFunction((pts) => {
    const c = document.querySelector('[data-testid=rd-total-count]');
    const s = document.querySelector('[data-testid=rd-total-points]');
    return c && s && c.textContent.trim() === '1' && s.textContent.trim() === pts && document.querySelectorAll('[data-testid=rd-table] tbody tr').length === 1;
  }, fmt(price), { timeout: T });
  check(true, `the shop's totals: 1 redemption, ${price} points`);
  await noMarkup(p, 'the redemption list');
  await shot(p, 'redemptions-list');

  await rowR.locator('[data-testid=rd-open]').click();
  const rdh = p.locator('[data-testid=rd-detail-household]', { hasText: XSS });
  await rdh.waitFor({ timeout: T });
  check((await rdh.innerText()).includes(`${XSS}（#${h.id}）`), 'the redemption drawer names the household as text');
  check((await p.locator('[data-testid=rd-lines]').innerText()).includes(item.name), 'and lists its item');
  await noMarkup(p, 'the redemption drawer');
  await p.waitForTimeout(400);
  await shot(p, 'redemption-detail');
  await p.locator('[data-testid=rd-void] input[name=reason]').fill('居民退货');
  await p.locator('[data-testid=rd-void-submit]').click();
  const box = p.locator('.el-message-box');
  await box.waitFor({ timeout: T });
  check((await box.innerText()).includes(fmt(price)), 'the void asks first, naming the points');
  await confirmBox(p);
  const vr = p.locator('[data-testid=rd-void-result]');
  await vr.waitFor({ timeout: T });
  const given = Number(await vr.getAttribute('data-points'));
  const recovered = Number(await vr.getAttribute('data-recovered'));
  const vBalance = Number(await vr.getAttribute('data-balance'));
  const hh3 = await api(`/v1/households/${h.id}`, { token: w.admin });
  check(given === price && recovered === shortfall, `the void gives back ${given} points, ${recovered} of them settling the shortfall`);
  check(hh3.balance === vBalance && hh3.balance === hh.balance + price - shortfall, `the balance the API gives (${hh3.balance}) is the one shown`);
  check((await vr.innerText()).includes(`退还 ${fmt(price)} 分`) && (await p.locator('[data-testid=rd-void-recovered]').innerText()).includes(fmt(shortfall)), 'and says so');
  await p.locator('[data-testid=rd-detail-status]', { hasText: '已撤销' }).waitFor({ timeout: T });
  check((await p.locator('[data-testid=rd-void-submit]').count()) === 0, 'a voided redemption offers no second void');
  await p.waitForFunction(() => document.querySelector('[data-testid=rd-total-count]')?.textContent.trim() === '0', null, { timeout: T });
  check(true, 'the totals leave the voided redemption out');
  await p.waitForTimeout(300);
  await shot(p, 'redemption-voided');
  await p.keyboard.press('Escape');
  await rowR.locator('[data-testid=rd-status]', { hasText: '已撤销' }).waitFor({ timeout: T });
  check(true, 'the list shows it voided');
  const again = await api(`/v1/redemptions/${R.id}/void`, { method: 'POST', token: w.admin, body: { reason: 'again' }, want: 409 });
  check(again.error.code === 'already_voided', 'the API refuses a second void too');

  // in English: the category names and flags translated
  await p.locator('.wb-locale-switch').click();
  await p.goto(`${BASE}/console/#/dropoffs?household_id=${h.id}`);
  await rowA.locator('[data-testid=do-flag-reversed]', { hasText: 'Reversed' }).waitFor({ timeout: T });
  const enA = await rowA.innerText();
  check(enA.includes('Paper and cardboard 2.35 kg') && enA.includes('Pesticide containers 3 items'), `the lines in English (${enA.replace(/\s+/g, ' ')})`);
  check((await rowB.locator('[data-testid=do-flag-capped]').innerText()).includes('Capped'), 'the flags in English');
  await shot(p, 'dropoffs-en');

  // ---- a region admin of another county
  const q = await consolePage(b, 'console-movements-county-b');
  await signIn(q, adminB.username, adminB.password);
  await q.goto(`${BASE}/console/#/dropoffs`);
  await q.locator('[data-testid=do-table] .el-table__empty-text', { hasText: '还没有投放记录' }).waitFor({ timeout: T });
  check((await q.locator('[data-testid=do-table] tbody tr').count()) === 0, 'county B sees no drop-off');
  check((await q.locator('[data-testid=do-site]').count()) === 1, 'its filter is there');
  await shot(q, 'dropoffs-county-b');
  await q.goto(`${BASE}/console/#/dropoffs?household_id=${h.id}`);
  const qe = q.locator('[data-testid=do-error]');
  await qe.waitFor({ timeout: T });
  check((await qe.innerText()).includes('不在您的管辖范围内') && (await q.locator('[data-testid=do-table] tbody tr').count()) === 0, 'asking for the other county\'s household is refused');
  await shot(q, 'dropoffs-county-b-household');
  await q.goto(`${BASE}/console/#/redemptions`);
  await q.locator('[data-testid=rd-table] .el-table__empty-text', { hasText: '还没有兑换记录' }).waitFor({ timeout: T });
  check((await q.locator('[data-testid=rd-table] tbody tr').count()) === 0, 'county B sees no redemption');
  await q.locator('[data-testid=rd-total-count]').waitFor({ timeout: T });
  check((await q.locator('[data-testid=rd-total-count]').innerText()).trim() === '0', 'and its totals are 0');
  await shot(q, 'redemptions-county-b');

  check(Date.now() - started < 90000, `the spec ran in ${Math.round((Date.now() - started) / 1000)} s`);
});
