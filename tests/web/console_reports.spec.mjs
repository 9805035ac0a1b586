// The console's Reports page: through the API a chain world in one village
// (a drop-off site named as markup, a transfer station, a sorting centre,
// their attendants, two households, one named as markup; drop-offs, a
// shipment to the transfer station received with a loss, one on to the
// sorting centre, a stock count, an outbound; an inspection). The admin
// opens each report for the county and the period: the table's figures are
// the API's, each report has its chart; the flows Sankey carries what was
// collected, shipped, lost and sent out, and the page says it balances; the
// markup names show as text; the CSV starts with a BOM. Checks before
// sending and the API's field errors are shown. The dashboard has the flows
// panel too. A region admin of another county can pick only its own region
// and gets the 404 message for the first county.
import { readFileSync } from 'node:fs';
import { api, ADMIN, BASE, check, page, run, shot as viewportShot, staff, tag, world } from './lib.mjs';

const T = 15000;
const XSS = '<img src=x onerror=alert(1)>';
const key = () => `web-reports-${tag(12)}`;

async function signIn(p, username, password) {
  await p.goto(`${BASE}/console/`);
  await p.locator('input[name=username]').fill(username);
  await p.locator('input[name=password]').fill(password);
  await p.locator('button[type=submit]').click();
  await p.locator('[data-testid=sign-out]').waitFor({ timeout: T });
}

// The console scrolls inside its main pane: grow the window to the pane's
// content for a whole-page picture, then back.
async function shot(p, name) {
  const size = p.viewportSize();
  const h = await p.evaluate(() => {
    const m = document.querySelector('.shell__main');
    return m ? m.scrollHeight + 56 : document.body.scrollHeight;
  });
  if (h > size.height) await p.setViewportSize({ width: size.width, height: Math.min(h, 6000) });
  await p.waitForTimeout(250);
  await viewportShot(p, name);
  if (h > size.height) await p.setViewportSize(size);
}

const loaded = (p) => p.evaluate(() => Number((document.querySelector('[data-testid=reports]') || { dataset: {} }).dataset.loaded || -1));

// Open the Reports page at a query and wait for it to have answered.
async function openReport(p, query) {
  const before = await loaded(p);
  await p.goto(`${BASE}/console/#/reports?${new URLSearchParams(query)}`);
  await p.waitForFunction(
    (b) => {
      const d = document.querySelector('[data-testid=reports]');
      return d && Number(d.dataset.loaded) > b && Number(d.dataset.loaded) > 0;
    },
    before,
    { timeout: T },
  );
  await p.waitForTimeout(150);
}

// The report table's rows: {column key → text}.
const readTable = (p, name = 'report') =>
  p.evaluate(
    (n) =>
      [...document.querySelectorAll(`[data-testid=table-${n}] .el-table__body-wrapper tbody tr`)].map((tr) =>
        Object.fromEntries([...tr.querySelectorAll('[data-col]')].map((s) => [s.dataset.col, s.textContent.trim()])),
      ),
    name,
  );

const short = (v) => {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 160 ? `${s.slice(0, 160)}…` : s;
};
const get = (row, path) => path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), row);
const num = (s) => Number(String(s).replace(/,/g, ''));
const pctText = (r) => (r === null || r === undefined ? '—' : `${Math.round(Number(r) * 1000) / 10}%`);

// Compare table rows with expected rows: cols = [[col, path, how]].
function sameTable(what, table, expected, cols) {
  const bad = [];
  if (table.length !== expected.length) bad.push(`${table.length} rows shown, ${expected.length} answered`);
  expected.forEach((e, i) => {
    const r = table[i] || {};
    for (const [col, path, how] of cols) {
      if (e.key === 'total' && col === 'label') continue; // the totals are named in the key's column
      const v = e.key === 'total' && col === 'key' ? '合计' : get(e, path);
      const shown = r[col];
      let ok;
      if (how === 'kg') ok = num(shown) === Number(v) / 1000;
      else if (how === 'qty') ok = num(shown) === (e.unit === 'g' ? Number(v) / 1000 : Number(v));
      else if (how === 'pct') ok = shown === pctText(v);
      else if (how === 'text') ok = shown === String(v);
      else ok = num(shown) === Number(v);
      if (!ok) bad.push(`row ${i} ${col}: shown ${JSON.stringify(shown)}, answered ${JSON.stringify(v)}`);
    }
  });
  check(!bad.length, `${what}: the table's figures are the API's (${bad.slice(0, 4).join('; ') || `${expected.length} rows`})`);
}

await run(async (b) => {
  const started = Date.now();
  const w = await world();
  const admin = w.admin;
  const V = w.village;
  const countyB = await w.region(w.city.id, 'county', '乙县');
  await w.region(countyB.id, 'village', '乙村');
  const adminB = await staff(admin, { role: 'region_admin', region_id: countyB.id });

  // ---- the chain world
  const site = (name, tier) => api('/v1/sites', { method: 'POST', token: admin, body: { region_id: V.id, name, tier, network: 'recycling', address: '村委会旁' } });
  const drop = await site(XSS, 'dropoff');
  const transfer = await site(`中转站 ${tag()}`, 'transfer');
  const sorting = await site(`分拣中心 ${tag()}`, 'sorting');
  const attD = await staff(admin, { role: 'attendant', region_id: V.id, site_id: drop.id });
  const attT = await staff(admin, { role: 'attendant', region_id: V.id, site_id: transfer.id });
  const attS = await staff(admin, { role: 'attendant', region_id: V.id, site_id: sorting.id });
  const hh = (head_name, address) => api('/v1/households', { method: 'POST', token: admin, body: { region_id: V.id, head_name, address } });
  const h1 = await hh(`王秀兰${tag(3)}`, '一组1号');
  const h2 = await hh(XSS, '一组2号');
  const dropoff = (h, items) => api('/v1/dropoffs', { method: 'POST', token: attD.token, headers: { 'Idempotency-Key': key() }, body: { code: h.code, items } });
  const d1 = await dropoff(h1, [{ category: 'paper', grams: 5000 }, { category: 'plastic', grams: 2000 }]);
  const d2 = await dropoff(h2, [{ category: 'paper', grams: 3000 }, { category: 'pesticide_container', count: 2 }]);
  check(d1.points > 0 && d2.points > 0, `two drop-offs (${d1.points} and ${d2.points} points)`);
  const s1 = await api('/v1/shipments', { method: 'POST', token: attD.token, headers: { 'Idempotency-Key': key() }, body: { to_site_id: transfer.id, lines: [{ category: 'paper', grams: 8000 }], vehicle: '三轮车' } });
  const r1 = await api(`/v1/shipments/${s1.id}/receive`, { method: 'POST', token: attT.token, body: { lines: [{ category: 'paper', grams: 7800 }] } });
  check(r1.lines[0].loss === 200, 'the transfer station received 7800 g of 8000 g: a loss of 200 g');
  const s2 = await api('/v1/shipments', { method: 'POST', token: attT.token, headers: { 'Idempotency-Key': key() }, body: { to_site_id: sorting.id, lines: [{ category: 'paper', grams: 7800 }] } });
  await api(`/v1/shipments/${s2.id}/receive`, { method: 'POST', token: attS.token, body: { lines: [{ category: 'paper', grams: 7800 }] } });
  await api('/v1/outbound', { method: 'POST', token: attS.token, headers: { 'Idempotency-Key': key() }, body: { buyer: '县再生资源公司', disposition: 'recycled', lines: [{ category: 'paper', grams: 7000 }] } });
  const count = await api(`/v1/sites/${drop.id}/stock-counts`, { method: 'POST', token: attD.token, headers: { 'Idempotency-Key': key() }, body: { lines: [{ category: 'plastic', grams: 1900 }] } });
  check(count.lines[0].expected === 2000 && count.lines[0].counted === 1900, `a stock count found 1900 g of plastic where 2000 g were expected (${short(count.lines)})`);
  const insp = await staff(admin, { role: 'inspector', region_id: V.id });
  await api('/v1/inspections', { method: 'POST', token: insp.token, headers: { 'Idempotency-Key': key() }, body: { household_id: h1.id, result: 'pass' } });

  const day = d1.recorded_at.slice(0, 10);
  const month = day.slice(0, 7);
  const from = `${month}-01`;
  const C = String(w.county.id);
  const apiReport = (kind, q) => api(`/v1/reports/${kind}?${new URLSearchParams({ region_id: C, ...q })}`, { token: admin });

  // ---- the admin's Reports page
  const p = await page(b, { mobile: false, name: 'console-reports' });
  let dialogs = 0;
  p.on('dialog', (d) => {
    dialogs++;
    d.dismiss().catch(() => {});
  });
  await signIn(p, ADMIN.username, ADMIN.password);
  await p.locator('[data-testid=nav] a', { hasText: '统计报表' }).click();
  await p.waitForURL(/#\/reports\?.*report=collection/, { timeout: T });
  await p.locator('[data-testid=report-region]', { hasText: '全部区域' }).waitFor({ timeout: T });
  check(true, 'the menu opens the Reports page with this month\'s collection for the whole tree in the route');

  // choose the county in the region dialog
  await p.locator('[data-testid=report-region-pick]').click();
  const tree = p.locator('[data-testid=report-region-tree]');
  const node = (name) => tree.locator('.el-tree-node__content', { hasText: name }).first();
  await tree.locator('.el-tree-node').first().waitFor({ timeout: T });
  for (let i = 0; i < 50 && !(await node(w.prov.name).count()); i++) {
    const more = tree.locator('.tree-more > .el-tree-node__content').last();
    if (!(await more.count())) break;
    await more.click();
    await p.waitForTimeout(200);
  }
  for (const r of [w.prov, w.city]) {
    await node(r.name).locator('.el-tree-node__expand-icon').click();
    await p.waitForTimeout(100);
  }
  await node(w.county.name).waitFor({ timeout: T });
  await p.waitForTimeout(300);
  await shot(p, 'reports-region-pick');
  await node(w.county.name).click();
  await p.waitForURL(new RegExp(`region_id=${C}`), { timeout: T });
  await p.locator('[data-testid=report-region]', { hasText: w.county.name }).waitFor({ timeout: T });
  check(true, 'picking the county puts it in the route and the tag');

  // collection by category
  const colCols = [['dropoffs', 'dropoffs'], ['grams', 'grams', 'kg'], ['items', 'items'], ['points', 'points'], ['households', 'households']];
  await openReport(p, { report: 'collection', region_id: C, group_by: 'category', from, to: day });
  const col = await apiReport('collection', { group_by: 'category', from, to: day });
  const colTable = await readTable(p);
  sameTable('collection by category', colTable, [...col.rows, col.totals], [['key', 'key', 'text'], ...colCols]);
  check(col.totals.grams === 10000 && col.totals.items === 2 && col.totals.households === 2, `the county collected 10 kg and 2 items from 2 households (${short(col.totals)})`);
  check(colTable.length && colTable[colTable.length - 1].key === '合计', 'the last row is the totals');
  const pie = await p.evaluate(() => window.__wbCharts.report.getOption().series.map((s) => ({ id: s.id, type: s.type, data: s.data.map((d) => ({ key: d.key, value: d.value })) })));
  const kgPie = pie.find((s) => s.id === 'kg');
  check(kgPie && kgPie.type === 'pie' && kgPie.data.find((d) => d.key === 'paper').value === 8 && kgPie.data.find((d) => d.key === 'plastic').value === 2, `a pie of kilograms by category (${short(pie)})`);
  check(pie.find((s) => s.id === 'items') && pie.find((s) => s.id === 'items').data[0].value === 2, 'and one of items');
  await shot(p, 'reports-collection');
  const [dl] = await Promise.all([p.waitForEvent('download', { timeout: T }), p.locator('[data-testid=csv-report]').click()]);
  const csvText = readFileSync(await dl.path(), 'utf8');
  check(dl.suggestedFilename().endsWith('.csv') && csvText.charCodeAt(0) === 0xfeff && csvText.includes('paper') && csvText.includes('10000'), `the CSV download starts with a UTF-8 BOM (${dl.suggestedFilename()})`);

  // collection by site: the markup name is text
  await openReport(p, { report: 'collection', region_id: C, group_by: 'site', from, to: day });
  const bySite = await apiReport('collection', { group_by: 'site', from, to: day });
  const siteTable = await readTable(p);
  sameTable('collection by site', siteTable, [...bySite.rows, bySite.totals], [['key', 'key', 'text'], ...colCols]);
  check(siteTable[0] && siteTable[0].label === XSS, `the drop-off site's name shows as text (${siteTable[0] && siteTable[0].label})`);
  check((await p.locator('[data-testid=table-report] img').count()) === 0, 'and no image element was made of it');
  const bars = await p.evaluate(() => {
    const o = window.__wbCharts.report.getOption();
    return { x: o.xAxis[0].data, kg: o.series.find((s) => s.id === 'kg').data };
  });
  check(bars.x[0] === XSS && bars.kg[0] === 10, `bars of kilograms by site (${short(bars)})`);
  await shot(p, 'reports-collection-site');

  // collection by day, filtered to paper
  await openReport(p, { report: 'collection', region_id: C, group_by: 'day', from, to: day, category: 'paper' });
  const byDay = await apiReport('collection', { group_by: 'day', from, to: day, category: 'paper' });
  sameTable('collection of paper by day', await readTable(p), [...byDay.rows, byDay.totals], [['key', 'key', 'text'], ...colCols]);
  check(byDay.totals.grams === 8000, 'paper alone: 8 kg');

  // collection by sub-region, and at the drop-off site alone (the site's filter names it as text)
  await openReport(p, { report: 'collection', region_id: C, group_by: 'region', from, to: day });
  const byRegion = await apiReport('collection', { group_by: 'region', from, to: day });
  sameTable('collection by sub-region', await readTable(p), [...byRegion.rows, byRegion.totals], [['key', 'key', 'text'], ['label', 'label', 'text'], ...colCols]);
  await openReport(p, { report: 'collection', region_id: C, group_by: 'month', from, to: day, site_id: String(drop.id) });
  const atSite = await apiReport('collection', { group_by: 'month', from, to: day, site_id: String(drop.id) });
  sameTable('collection at the drop-off site by month', await readTable(p), [...atSite.rows, atSite.totals], [['key', 'key', 'text'], ...colCols]);
  const siteInput = p.locator('[data-testid=f-site]');
  await p.waitForFunction(() => (document.querySelector('[data-testid=f-site]') || {}).textContent.includes('<img'), null, { timeout: T }).catch(() => {});
  check((await siteInput.innerText()).includes(`${XSS}（交投点）`), `the site filter shows the site's name as text (${short(await siteInput.innerText())})`);

  // participation
  await openReport(p, { report: 'participation', region_id: C, month });
  const part = await apiReport('participation', { month });
  sameTable('participation', await readTable(p), [...part.rows, ...part.totals], [
    ['name', 'name', 'text'], ['month', 'month', 'text'], ['households', 'households'], ['active_households', 'active_households'],
    ['rate', 'rate', 'pct'], ['by_dropoff', 'by_dropoff'], ['by_inspection', 'by_inspection'],
  ]);
  const partChart = await p.evaluate(() => {
    const o = window.__wbCharts.report.getOption();
    return { x: o.xAxis[0].data, series: o.series.map((s) => ({ id: s.id, data: s.data })) };
  });
  const ti = partChart.x.indexOf(w.town.name);
  check(ti >= 0 && partChart.series.find((s) => s.id === 'active').data[ti] === 2 && partChart.series.find((s) => s.id === 'rate').data[ti] === 100, `participation bars: both households of the town active (${short(partChart)})`);
  await shot(p, 'reports-participation');
  const prev = (() => {
    const [y, m] = month.split('-').map(Number);
    return m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`;
  })();
  await openReport(p, { report: 'participation', region_id: C, from_month: prev, to_month: month });
  const part2 = await apiReport('participation', { from_month: prev, to_month: month });
  sameTable('participation over two months', await readTable(p), [...part2.rows, ...part2.totals], [['name', 'name', 'text'], ['month', 'month', 'text'], ['households', 'households'], ['active_households', 'active_households'], ['rate', 'rate', 'pct']]);
  const lines = await p.evaluate(() => {
    const o = window.__wbCharts.report.getOption();
    return { x: o.xAxis[0].data, total: o.series.find((s) => s.id === 'total').data };
  });
  check(lines.x.join() === `${prev},${month}` && lines.total[1] === 100, `a line of the rate per month (${short(lines)})`);

  // leaderboard: the markup name, masked, as text
  await openReport(p, { report: 'leaderboard', region_id: C, month, limit: '10' });
  const lb = await apiReport('leaderboard', { month, limit: '10' });
  const lbTable = await readTable(p);
  sameTable('leaderboard', lbTable.slice(0, lb.rows.length), lb.rows, [
    ['rank', 'rank'], ['household_id', 'household_id'], ['head_name_masked', 'head_name_masked', 'text'], ['region_name', 'region_name', 'text'], ['points', 'points'], ['dropoffs', 'dropoffs'],
  ]);
  const masked = lb.rows.find((r) => r.household_id === h2.id);
  check(masked && masked.head_name_masked.startsWith('<') && lbTable.some((r) => r.head_name_masked === masked.head_name_masked), `the markup-named household shows as text (${masked && masked.head_name_masked})`);
  check(lbTable.length === lb.rows.length + 1 && num(lbTable[lbTable.length - 1].points) === lb.rows.reduce((a, r) => a + r.points, 0), 'a row sums the listed households');
  const lbChart = await p.evaluate(() => window.__wbCharts.report.getOption().series[0].data);
  check(lbChart.slice().sort((a, x) => x - a).join() === lb.rows.map((r) => r.points).join(), `a bar of points per household (${lbChart})`);
  await shot(p, 'reports-leaderboard');

  // flows: the table and the Sankey
  await openReport(p, { report: 'flows', region_id: C, from, to: day });
  const fl = await apiReport('flows', { from, to: day });
  const q = (path) => [path, path, 'qty'];
  sameTable('flows', await readTable(p), [...fl.rows, ...fl.totals], [
    q('collected'), q('reversed'), q('shipped.from_dropoff'), q('shipped.from_transfer'), q('received.at_transfer'), q('received.at_sorting'),
    q('transit_loss'), q('in_transit'), q('count_difference'), q('outbound.recycled'), q('outbound.landfill'), q('on_hand.dropoff'),
    q('on_hand.transfer'), q('on_hand.sorting'), q('opening.on_hand'), q('left_region'), q('entered_region'),
  ]);
  check(fl.balanced === true, 'the API says the county balances');
  const tagB = p.locator('[data-testid=sankey-report] [data-testid=flows-balanced]');
  await tagB.waitFor({ timeout: T });
  check((await tagB.getAttribute('data-balanced')) === 'yes' && (await tagB.innerText()).includes('已平衡'), `the page says balanced (${await tagB.innerText()})`);
  await p.waitForFunction(() => window.__wbCharts && window.__wbCharts.report && window.__wbCharts.report.getOption().series[0].type === 'sankey', null, { timeout: T });
  const sankey = async () =>
    p.evaluate(() => {
      const s = window.__wbCharts.report.getOption().series[0];
      return { type: s.type, nodes: s.data.map((d) => d.key), links: s.links.map((l) => ({ term: l.term, value: l.value, source: l.source, target: l.target })) };
    });
  const sk = await sankey();
  const link = (g, term) => g.links.filter((l) => l.term === term).reduce((a, l) => a + l.value, 0);
  const near = (a, x) => Math.abs(a - x) < 1e-9;
  check(near(link(sk, 'collected'), 10) && near(link(sk, 'shipped.from_dropoff'), 8) && near(link(sk, 'shipped.from_transfer'), 7.8), `the Sankey carries 10 kg collected, 8 kg shipped from the drop-off site and 7.8 kg from the transfer station (${short(sk.links)})`);
  check(near(link(sk, 'transit_loss'), 0.2) && near(link(sk, 'outbound.recycled'), 7) && near(link(sk, 'count_difference'), 0.1), 'the 0.2 kg lost in transit, the 7 kg sent out for recycling and the 0.1 kg count difference');
  check(near(link(sk, 'received.at_transfer'), 7.8) && near(link(sk, 'received.at_sorting'), 7.8) && near(link(sk, 'on_hand.dropoff'), 1.9) && near(link(sk, 'on_hand.sorting'), 0.8), 'receipts and what is on hand at each tier');
  check(['households', 'dropoff', 't1', 'transfer', 't2', 'sorting', 'loss', 'out_recycled', 'count_short', 'on_dropoff', 'on_sorting'].every((k) => sk.nodes.includes(k)), `through the three tiers (${sk.nodes.join(' ')})`);
  const box = await p.locator('[data-testid=sankey-report] .sankey__chart').boundingBox();
  await p.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.3);
  await p.waitForTimeout(300);
  await shot(p, 'reports-flows');
  // the items' total
  await p.locator('[data-testid=flows-view]').click();
  await p.locator('.el-select-dropdown__item:visible', { hasText: '按件数合计' }).click();
  await p.waitForFunction(() => window.__wbCharts.report.getOption().series[0].links.some((l) => l.term === 'collected' && l.value === 2), null, { timeout: T });
  check(near(link(await sankey(), 'on_hand.dropoff'), 2), 'by count: 2 pesticide containers collected, on hand at the drop-off site');

  // points
  await openReport(p, { report: 'points', region_id: C, from, to: day });
  const pts = await apiReport('points', { from, to: day });
  sameTable('points', await readTable(p), [...pts.rows, pts.totals], [
    ['name', 'name', 'text'], ['issued.dropoffs', 'issued.dropoffs'], ['issued.adjustments', 'issued.adjustments'], ['issued.inspections', 'issued.inspections'],
    ['reversed', 'reversed'], ['redeemed', 'redeemed'], ['voided', 'voided'], ['recovered', 'recovered'], ['expired', 'expired'], ['outstanding', 'outstanding'],
  ]);
  check(pts.totals.issued.dropoffs === d1.points + d2.points && pts.totals.outstanding === d1.points + d2.points, 'the county issued what the drop-offs earned');
  await shot(p, 'reports-points');

  // accuracy
  await openReport(p, { report: 'accuracy', region_id: C, month });
  const acc = await apiReport('accuracy', { month });
  sameTable('accuracy', await readTable(p), [...acc.rows, acc.totals], [
    ['name', 'name', 'text'], ['households', 'households'], ['households_inspected', 'households_inspected'], ['coverage', 'coverage', 'pct'],
    ['inspections', 'inspections'], ['pass', 'pass'], ['partial', 'partial'], ['fail', 'fail'], ['accuracy', 'accuracy', 'pct'],
  ]);
  check(acc.totals.inspections === 1 && acc.totals.pass === 1, 'one passed inspection in the county');
  const accChart = await p.evaluate(() => window.__wbCharts.report.getOption().series.map((s) => ({ id: s.id, data: s.data })));
  check(accChart.find((s) => s.id === 'pass').data.reduce((a, x) => a + x, 0) === 1 && accChart.find((s) => s.id === 'accuracy'), `stacked results and an accuracy line (${short(accChart)})`);
  await shot(p, 'reports-accuracy');

  // the link reopens the report: a reload shows the same
  await p.reload();
  await p.waitForFunction(() => Number((document.querySelector('[data-testid=reports]') || { dataset: {} }).dataset.loaded) > 0, null, { timeout: T });
  await p.waitForTimeout(200);
  check((await p.locator('[data-testid=kind-accuracy].is-active').count()) === 1 && (await readTable(p)).length === acc.rows.length + 1, 'reloading the link reopens the accuracy report');

  // a change through the form: the route keeps it
  await p.locator('[data-testid=kind-flows]').click();
  await p.waitForURL(/report=flows/, { timeout: T });
  check(new URL(p.url().replace('#/', '')).searchParams.get('region_id') === C, 'switching the report keeps the region in the route');

  // checks before sending
  const reportRequests = [];
  const onReq = (r) => r.url().includes('/v1/reports/') && reportRequests.push(r.url());
  p.on('request', onReq);
  await openReport(p, { report: 'flows', region_id: C, from: day, to: from === day ? dayBeforeText(day) : from });
  const fieldErr = await p.locator('[data-testid=report-form] .el-form-item__error').allInnerTexts();
  check(fieldErr.some((e) => e.includes('开始不能晚于结束')) && (await p.locator('[data-testid=report-check]').count()) === 1, `from after to is refused at the field (${fieldErr})`);
  await openReport(p, { report: 'points', region_id: C, from: '2024-01-01', to: '2025-01-31' });
  const fieldErr2 = await p.locator('[data-testid=report-form] .el-form-item__error').allInnerTexts();
  check(fieldErr2.some((e) => e.includes('366')), `more than 366 days is refused (${fieldErr2})`);
  await shot(p, 'reports-check');
  check(reportRequests.length === 0, `nothing was sent for them (${reportRequests.join(' ')})`);
  p.off('request', onReq);
  // the API's field error
  await openReport(p, { report: 'collection', region_id: C, group_by: 'category', from, to: day, category: 'nosuch' });
  const apiErr = p.locator('[data-testid=report-error]');
  await apiErr.waitFor({ timeout: T });
  const apiErrText = await apiErr.innerText();
  const catErr = await p.locator('[data-testid=report-form] .el-form-item__error').allInnerTexts();
  check(apiErrText.includes('品类') && /unknown category/.test(apiErrText) && catErr.some((e) => /nosuch/.test(e)), `the API's 400 names the category field (${apiErrText} / ${catErr})`);
  await shot(p, 'reports-field-error');

  // ---- the dashboard's flows panel
  await p.goto(`${BASE}/console/#/dashboard?region_id=${C}&month=${month}`);
  await p.waitForFunction(() => {
    const d = document.querySelector('[data-testid=dashboard]');
    return d && Number(d.dataset.loaded) >= 1 && window.__wbCharts && window.__wbCharts.flows;
  }, null, { timeout: T });
  const dsk = await p.evaluate(() => window.__wbCharts.flows.getOption().series[0].links.map((l) => ({ term: l.term, value: l.value })));
  check(near(link({ links: dsk }, 'collected'), 10) && near(link({ links: dsk }, 'outbound.recycled'), 7), `the dashboard's Sankey: 10 kg collected, 7 kg recycled (${short(dsk)})`);
  check((await p.locator('[data-testid=panel-flows] [data-testid=flows-balanced]').getAttribute('data-balanced')) === 'yes', 'and says balanced');
  const dflows = await readTable(p, 'flows');
  check(dflows.some((r) => r.collected === '8' && r['outbound.recycled'] === '7'), 'its table has paper\'s 8 kg collected and 7 kg recycled');
  await p.locator('[data-testid=panel-flows]').scrollIntoViewIfNeeded();
  await shot(p, 'reports-dashboard');
  // in English
  await openReport(p, { report: 'flows', region_id: C, from, to: day });
  await p.locator('.wb-locale-switch').click();
  await p.locator('[data-testid=sankey-report] [data-testid=flows-balanced]', { hasText: 'balanced' }).waitFor({ timeout: T });
  await p.waitForFunction(() => window.__wbCharts.report.getOption().series[0].data.some((d) => d.name === 'Drop-off sites'), null, { timeout: T });
  check(true, 'in English the Sankey\'s nodes and the verdict follow the language');
  await shot(p, 'reports-flows-en');
  await p.locator('.wb-locale-switch').click();
  await p.locator('[data-testid=sankey-report] [data-testid=flows-balanced]', { hasText: '已平衡' }).waitFor({ timeout: T });
  check(dialogs === 0, 'no dialog was raised on the admin\'s pages');

  // ---- a region admin of county B
  const r = await page(b, { mobile: false, name: 'console-reports-region-admin' });
  r.on('dialog', (d) => {
    dialogs++;
    d.dismiss().catch(() => {});
  });
  await signIn(r, adminB.username, adminB.password);
  await r.goto(`${BASE}/console/#/reports`);
  await r.waitForURL(new RegExp(`region_id=${countyB.id}`), { timeout: T });
  await r.locator('[data-testid=report-region]', { hasText: countyB.name }).waitFor({ timeout: T });
  check(true, 'B\'s Reports page opens on county B');
  await r.locator('[data-testid=report-region-pick]').click();
  const treeB = r.locator('[data-testid=report-region-tree]');
  await treeB.locator('.el-tree-node__content', { hasText: countyB.name }).first().waitFor({ timeout: T });
  await treeB.locator('.el-tree-node__content', { hasText: countyB.name }).first().locator('.el-tree-node__expand-icon').click();
  await r.waitForTimeout(500);
  const treeText = await treeB.innerText();
  check(!treeText.includes(w.county.name) && !treeText.includes(w.prov.name) && !(await r.locator('[data-testid=report-region-all]').count()), `B can pick only within county B (${treeText.replace(/\s+/g, ' ')})`);
  await shot(r, 'reports-region-admin-pick');
  await r.keyboard.press('Escape');
  await r.waitForTimeout(300);
  await openReport(r, { report: 'leaderboard', region_id: String(countyB.id), month, limit: '10' });
  const lbB = await r.locator('[data-testid=reports]').innerText();
  check((await readTable(r)).length === 0 && !lbB.includes(h1.head_name.slice(0, 1) + '*'), 'B\'s leaderboard has none of county A\'s households');
  await openReport(r, { report: 'flows', region_id: C, from, to: day });
  const e404 = r.locator('[data-testid=report-top-error]');
  await e404.waitFor({ timeout: T });
  const e404Text = await e404.innerText();
  const pageB = await r.locator('[data-testid=reports]').innerText();
  check(e404Text.includes('404') && e404Text.includes('管辖范围'), `a forged region_id shows the 404 message (${e404Text})`);
  check(!pageB.includes(w.county.name) && !pageB.includes(XSS) && !(await r.locator('[data-testid=table-report]').count()), 'and nothing of county A');
  await shot(r, 'reports-region-admin-404');
  check(dialogs === 0, 'no dialog was raised');
  check(Date.now() - started < 120000, `the spec ran in ${Math.round((Date.now() - started) / 1000)} s`);
});

function dayBeforeText(d) {
  const t = new Date(`${d}T00:00:00Z`);
  t.setUTCDate(t.getUTCDate() - 1);
  return t.toISOString().slice(0, 10);
}
