// The admin console: the admin signs in, adds a village under a fresh town in
// the region tree, imports households from CSV (a bad line first: its error
// is shown with its line number), sees them with their card, and reads the
// dashboard's charts after a drop-off recorded through the API; a region
// admin of another county never sees the first county's village or households.
import { readFileSync } from 'node:fs';
import { api, ADMIN, BASE, check, login, page, run, shot, staff, tag, world } from './lib.mjs';

const T = 15000;

async function signIn(p, username, password) {
  await p.goto(`${BASE}/console/`);
  await p.locator('input[name=username]').fill(username);
  await p.locator('input[name=password]').fill(password);
  await p.locator('button[type=submit]').click();
  await p.locator('[data-testid=sign-out]').waitFor({ timeout: T });
}

const node = (p, name) => p.locator('[data-testid=region-tree] .el-tree-node__content', { hasText: name });

// Open the tree down to `path` (region names), loading more roots when needed.
async function openTree(p, path) {
  await p.goto(`${BASE}/console/#/regions`);
  await p.locator('[data-testid=region-tree] .el-tree-node').first().waitFor({ timeout: T });
  for (let i = 0; i < 50 && !(await node(p, path[0]).count()); i++) {
    const more = p.locator('[data-testid=region-tree] .tree-more > .el-tree-node__content').last();
    if (!(await more.count())) break;
    await more.click();
    await p.waitForTimeout(200);
  }
  for (const name of path.slice(0, -1)) {
    const n = node(p, name).first();
    await n.locator('.el-tree-node__expand-icon').click();
    await p.waitForTimeout(50);
  }
  await node(p, path[path.length - 1]).first().waitFor({ timeout: T });
}

async function select(p, name) {
  await node(p, name).first().locator('.tree-node').click();
  await p.locator('[data-testid=region-detail] h2', { hasText: name }).waitFor({ timeout: T });
}

await run(async (b) => {
  const started = Date.now();
  const w = await world();
  const countyB = await w.region(w.city.id, 'county', '乙县');
  const villageB = await w.region(countyB.id, 'village', '乙村');
  const adminB = await staff(w.admin, { role: 'region_admin', region_id: countyB.id });

  // ---- the admin adds a village under the fresh town
  const p = await page(b, { mobile: false, name: 'console-admin' });
  await signIn(p, ADMIN.username, ADMIN.password);
  await shot(p, 'console-dashboard-empty');
  await openTree(p, [w.prov.name, w.city.name, w.county.name, w.town.name]);
  await select(p, w.town.name);
  await p.locator('[data-testid=add-child]').click();
  const villageName = `新村 ${tag()}`;
  const villageCode = String(Math.floor(1e11 + Math.random() * 8e11));
  const form = p.locator('[data-testid=region-form]');
  await form.locator('input[name=name]').fill(villageName);
  await form.locator('input[name=code]').fill(villageCode);
  await p.locator('[data-testid=region-save]').click();
  await node(p, villageName).first().waitFor({ timeout: T });
  check(true, 'a village added under the town shows in the tree');
  await select(p, villageName);
  check((await p.locator('[data-testid=region-detail]').innerText()).includes(w.town.name), 'its path names the town');
  await shot(p, 'console-regions');
  const kids = await api(`/v1/regions?parent_id=${w.town.id}`, { token: w.admin });
  const village = kids.items.find((r) => r.name === villageName);
  check(village && village.level === 'village' && village.code === villageCode, 'the village exists with its level and code');

  // ---- CSV import: a bad line first, then a good file
  const names = [`赵大山${tag(3)}`, `钱小英${tag(3)}`];
  const header = 'region_code,head_name,address,phone,members';
  await p.goto(`${BASE}/console/#/import`);
  const text = p.locator('textarea[name=csv]');
  await text.fill(`${header}\n${villageCode},${names[0]},新村1号,13800000001,3\n999999999999,${names[1]},新村2号,,2\n`);
  await p.locator('[data-testid=import-submit]').click();
  const errs = p.locator('[data-testid=import-errors]');
  await errs.waitFor({ timeout: T });
  const firstErr = await errs.locator('tbody tr').first().locator('td').allInnerTexts();
  check(firstErr[0].trim() === '3', `the bad line is named by its number (${firstErr.join(' | ')})`);
  check(/region_code/.test(firstErr[1]), 'and its field');
  await shot(p, 'console-import-error');
  const none = await api(`/v1/households?region_id=${village.id}`, { token: w.admin });
  check(none.items.length === 0, 'nothing was imported');
  await text.fill(`${header}\n${villageCode},${names[0]},新村1号,13800000001,3\n${villageCode},${names[1]},新村2号,,2\n`);
  await p.locator('[data-testid=import-submit]').click();
  await p.locator('[data-testid=import-ok]').waitFor({ timeout: T });
  check((await p.locator('[data-testid=import-ok]').innerText()).includes('2'), 'the good file imports 2 households');

  // ---- the households of the village, with a card
  await openTree(p, [w.prov.name, w.city.name, w.county.name, w.town.name, villageName]);
  await select(p, villageName);
  await p.locator('[data-testid=open-households]').click();
  const table = p.locator('[data-testid=hh-table]');
  await table.locator('tbody tr', { hasText: names[0] }).waitFor({ timeout: T });
  const tt = await table.innerText();
  check(names.every((n) => tt.includes(n)), 'both imported households are listed');
  const [sheet] = await Promise.all([p.waitForEvent('download', { timeout: T }), p.locator('[data-testid=hh-sheet]').click()]);
  const sheetPdf = readFileSync(await sheet.path());
  check(sheetPdf.subarray(0, 5).toString('latin1') === '%PDF-' && sheetPdf.length > 2000 && sheet.suggestedFilename() === `cards-${village.code}.pdf`, `the village's card sheet downloads (${sheetPdf.length} bytes)`);
  await table.locator('tbody tr', { hasText: names[0] }).locator('[data-testid=hh-card]').click();
  const img = p.locator('[data-testid=card-img]');
  await img.waitFor({ timeout: T });
  check((await img.getAttribute('src')).startsWith('blob:'), 'the card PNG is shown from a blob: URL');
  check(await img.evaluate((i) => i.complete && i.naturalWidth > 0), 'the card image loads');
  await p.waitForTimeout(400); // the dialog's fade-in
  await shot(p, 'console-card');
  const before = (await api(`/v1/households?region_id=${village.id}&q=${encodeURIComponent(names[1])}`, { token: w.admin })).items[0];
  const first = (await api(`/v1/households?region_id=${village.id}&q=${encodeURIComponent(names[0])}`, { token: w.admin })).items[0];
  const firstSrc = await img.getAttribute('src');
  await p.locator('[data-testid=card-reissue]').click();
  await p.locator('.el-message-box__btns .el-button--primary').click();
  await p.waitForFunction((s) => {
    const i = document.querySelector('[data-testid=card-img]');
    return i && i.getAttribute('src') !== s;
  }, firstSrc, { timeout: T });
  const reissued = (await api(`/v1/households?region_id=${village.id}&q=${encodeURIComponent(names[0])}`, { token: w.admin })).items[0];
  check(reissued.code && first.code !== reissued.code, 'the card is reissued and shown anew');
  await p.keyboard.press('Escape');
  await p.waitForTimeout(400);
  // suspend the second household, and reset its PIN
  const row2 = table.locator('tbody tr', { hasText: names[1] });
  await row2.locator('[data-testid=hh-more]').click();
  await p.locator('.el-dropdown-menu__item:visible', { hasText: '暂停' }).click();
  await p.locator('.el-message-box__btns .el-button--primary').click();
  await row2.locator('[data-testid=hh-status]', { hasText: '已暂停' }).waitFor({ timeout: T });
  const suspended = await api(`/v1/households/${before.id}`, { token: w.admin });
  check(suspended.status === 'suspended', 'a household is suspended from the list');
  await p.waitForTimeout(300);
  await row2.locator('[data-testid=hh-more]').click();
  await p.locator('.el-dropdown-menu__item:visible', { hasText: '重置密码' }).click();
  await p.locator('input[name=new-pin]').fill('4821');
  await p.locator('[data-testid=pin-save]').click();
  await p.locator('.el-message--success', { hasText: '密码已设置' }).waitFor({ timeout: T });
  check(true, 'its PIN is reset');

  // ---- the admin sets the village's own paper rate in the console
  await p.goto(`${BASE}/console/#/rates?region_id=${village.id}`);
  const paperRow = p.locator('[data-testid=rates-table] tbody tr', { hasText: 'paper' });
  await paperRow.waitFor({ timeout: T });
  await paperRow.locator('[data-testid=rate-change]').click();
  const rateForm = p.locator('[data-testid=rate-form]');
  await rateForm.waitFor({ timeout: T });
  const ppu = p.locator('[data-testid=rate-points] input').first();
  await ppu.fill('80');
  await ppu.evaluate((e) => e.blur());
  await p.locator('[data-testid=rate-save]').click();
  await paperRow.locator('[data-testid=rate-in-force]', { hasText: '80' }).waitFor({ timeout: T });
  check(true, "the village's paper rate of 80 is in force in the console");

  // ---- a drop-off through the API, then the dashboard
  const site = await api('/v1/sites', { method: 'POST', token: w.admin, body: { region_id: village.id, name: `回收点 ${tag()}`, tier: 'dropoff', network: 'recycling', address: '新村口' } });
  const att = await staff(w.admin, { role: 'attendant', region_id: village.id, site_id: site.id });
  const hh = (await api(`/v1/households?region_id=${village.id}&q=${encodeURIComponent(names[0])}`, { token: w.admin })).items[0];
  const drop = await api('/v1/dropoffs', {
    method: 'POST',
    token: att.token,
    headers: { 'Idempotency-Key': `web-console-${tag(10)}` },
    body: { code: hh.code, items: [{ category: 'paper', grams: 2350 }, { category: 'plastic', grams: 1200 }] },
  });
  check(drop.points > 0, `the drop-off earned ${drop.points} points`);
  const paperLine = drop.items.find((i) => i.category === 'paper');
  check(paperLine.rate === 80 && paperLine.points === Math.floor((2350 * 80) / 1000), `paper is paid at the rate set in the console (${JSON.stringify(paperLine)})`);

  await p.goto(`${BASE}/console/#/dashboard?region_id=${w.county.id}`);
  await p.waitForFunction(() => {
    const d = document.querySelector('[data-testid=dashboard]');
    return d && Number(d.dataset.loaded) >= 1 && window.__wbCharts && window.__wbCharts.points;
  }, null, { timeout: T });
  const opts = await p.evaluate(() => {
    const out = {};
    for (const [k, c] of Object.entries(window.__wbCharts)) {
      const o = c.getOption();
      if (!o.xAxis) continue; // the flows Sankey has no axes
      out[k] = { x: o.xAxis[0].data, series: o.series.map((s) => ({ id: s.id, name: s.name, data: s.data })) };
    }
    return out;
  });
  const col = opts.collection;
  const last = col.x.length - 1;
  const paper = col.series.find((s) => s.id === 'paper');
  const plastic = col.series.find((s) => s.id === 'plastic');
  check(col.x.length === 12, '12 months of bars');
  check(paper && paper.data[last] === 2.35 && plastic && plastic.data[last] === 1.2, `this month's kilograms by category (${JSON.stringify(col.series)})`);
  check(paper && paper.data.slice(0, last).every((v) => v === 0), 'nothing in the months before');
  const part = opts.participation;
  const ti = part.x.indexOf(w.town.name);
  const ser = (o, id) => o.series.find((s) => s.id === id).data;
  check(ti >= 0 && ser(part, 'households')[ti] === 2 && ser(part, 'active')[ti] === 1 && ser(part, 'rate')[ti] === 50,
    `participation of the town: 1 of 2 households (${JSON.stringify(part)})`);
  const pts = opts.points;
  const pi = pts.x.indexOf(w.town.name);
  check(pi >= 0 && ser(pts, 'issued')[pi] === drop.points && ser(pts, 'outstanding')[pi] === drop.points,
    `points issued and outstanding in the town: ${drop.points} (${JSON.stringify(pts)})`);
  check(opts.accuracy.x.includes(w.town.name), 'accuracy has a bar group for the town');
  const tableText = await p.locator('[data-testid=table-collection]').innerText();
  check(tableText.includes('2.35') && tableText.includes(String(drop.items.find((i) => i.category === 'paper').points)), 'the table holds the month\'s figures');
  const [dl] = await Promise.all([p.waitForEvent('download', { timeout: T }), p.locator('[data-testid=csv-collection]').click()]);
  const csv = readFileSync(await dl.path(), 'utf8');
  check(dl.suggestedFilename().endsWith('.csv') && csv.charCodeAt(0) === 0xfeff && csv.includes('paper') && csv.includes('2350'), 'the CSV downloads through fetch');
  await shot(p, 'console-dashboard');

  // ---- the ledger check (admin only)
  await p.goto(`${BASE}/console/#/ledger-check`);
  await p.locator('[data-testid=ledger-run]').click();
  const lr = p.locator('[data-testid=ledger-result]');
  await lr.waitFor({ timeout: 30000 });
  check(['yes', 'no'].includes(await lr.getAttribute('data-ok')), `the ledger check answers (${await lr.innerText()})`);
  await shot(p, 'console-ledger-check');

  // ---- a region admin of county B sees only its subtree
  const q = await page(b, { mobile: false, name: 'console-region-admin' });
  await signIn(q, adminB.username, adminB.password);
  await q.locator('[data-testid=region]', { hasText: countyB.name }).waitFor({ timeout: T });
  check(true, 'the header names county B');
  check(!(await q.locator('[data-testid=nav] a', { hasText: '台账核对' }).count()), 'no ledger check in B\'s menu');
  await q.goto(`${BASE}/console/#/ledger-check`);
  await q.waitForURL(/#\/dashboard/, { timeout: T });
  check(true, 'the ledger check route sends B back to the dashboard');
  await q.goto(`${BASE}/console/#/regions`);
  await node(q, countyB.name).first().waitFor({ timeout: T });
  await node(q, countyB.name).first().locator('.el-tree-node__expand-icon').click();
  await node(q, villageB.name).first().waitFor({ timeout: T });
  const treeB = await q.locator('[data-testid=region-tree]').innerText();
  check(!treeB.includes(w.county.name) && !treeB.includes(villageName) && !treeB.includes(w.prov.name), 'county A is nowhere in B\'s tree');
  await shot(q, 'console-region-admin-tree');
  await q.goto(`${BASE}/console/#/households?q=${encodeURIComponent(names[0])}`);
  await q.waitForTimeout(800);
  const hB = await q.locator('[data-testid=hh-table]').innerText();
  check(!names.some((n) => hB.includes(n)), 'B cannot find A\'s households by name');
  await q.goto(`${BASE}/console/#/households?region_id=${village.id}`);
  await q.locator('[data-testid=hh-error]').waitFor({ timeout: T });
  const hB2 = await q.locator('[data-testid=hh-table]').innerText();
  check(!names.some((n) => hB2.includes(n)), 'A\'s village is refused to B, no household shown');
  await q.goto(`${BASE}/console/#/dashboard`);
  await q.waitForFunction(() => Number((document.querySelector('[data-testid=dashboard]') || {}).dataset?.loaded) >= 1, null, { timeout: T });
  const partB = await q.evaluate(() => window.__wbCharts.participation.getOption().xAxis[0].data);
  check(!partB.includes(w.town.name) && (await q.locator('[data-testid=dash-region]').innerText()).includes(countyB.name), 'B\'s dashboard is its own county');
  await shot(q, 'console-region-admin-dashboard');
  check(Date.now() - started < 90000, `the spec ran in ${Math.round((Date.now() - started) / 1000)} s`);
});
