// The console's village programme: inspections posted by an inspector through
// the API are listed for the village; the admin sets the village's scoring
// rule (a bad one first: the 400's field is shown), voids a paid inspection
// from its drawer (its photo shown from a blob: URL), reads the honour roll
// and downloads its PDF poster, settles last month, and creates an attendant
// in the Staff section.
import { readFileSync } from 'node:fs';
import { api, ADMIN, BASE, check, login, page, run, shot, staff, tag, world } from './lib.mjs';

const T = 15000;

function thisMonth() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}`;
}

async function signIn(p, username, password) {
  await p.goto(`${BASE}/console/`);
  await p.locator('input[name=username]').fill(username);
  await p.locator('input[name=password]').fill(password);
  await p.locator('button[type=submit]').click();
  await p.locator('[data-testid=sign-out]').waitFor({ timeout: T });
}

async function setNumber(loc, v) {
  const input = loc.locator('input').first();
  await input.fill(String(v));
  await input.press('Tab');
}

await run(async (b) => {
  const started = Date.now();
  const w = await world();
  const village = w.village;
  const inspector = await staff(w.admin, { role: 'inspector', region_id: village.id });
  const hh = [];
  for (let i = 0; i < 4; i++)
    hh.push(await api('/v1/households', { method: 'POST', token: w.admin, body: { region_id: village.id, head_name: `检查户${i}${tag(3)}`, address: `村${i}号` } }));
  const inspect = (h, result, extra = {}) =>
    api('/v1/inspections', {
      method: 'POST',
      token: inspector.token,
      headers: { 'Idempotency-Key': `web-insp-${tag(12)}` },
      body: { household_id: h.id, result, ...extra },
    });
  const first = [await inspect(hh[0], 'pass'), await inspect(hh[1], 'pass', { note: '分得很好' }), await inspect(hh[2], 'fail')];
  check(first.every((x) => x.id), 'three inspections posted by the inspector');

  const p = await page(b, { mobile: false, name: 'console-village' });
  await signIn(p, ADMIN.username, ADMIN.password);

  // ---- the list of the village
  await p.goto(`${BASE}/console/#/inspections?region_id=${village.id}`);
  const table = p.locator('[data-testid=insp-table]');
  await table.locator('tbody tr').nth(2).waitFor({ timeout: T });
  const listText = await table.innerText();
  check(first.every((x) => listText.includes(String(x.household_id))) && listText.includes('不合格') && listText.includes('分得很好'), 'the inspections are listed');
  check((await p.locator('[data-testid=insp-region]').innerText()).includes(village.name), 'the village is named');
  await shot(p, 'village-inspections');

  // ---- the scoring rule: a bad one first, then a good one
  await p.locator('#tab-scoring').click();
  const form = p.locator('[data-testid=rule-form]');
  await form.waitFor({ timeout: T });
  await setNumber(p.locator('[data-testid=rule-per-pass]'), 2);
  await setNumber(p.locator('[data-testid=rule-per-partial]'), 1);
  await setNumber(p.locator('[data-testid=rule-threshold]').first().locator('.el-input-number').nth(0), 0.8);
  await setNumber(p.locator('[data-testid=rule-threshold]').first().locator('.el-input-number').nth(1), 5);
  await p.locator('[data-testid=rule-add-threshold]').click();
  await setNumber(p.locator('[data-testid=rule-threshold]').nth(1).locator('.el-input-number').nth(0), 0.8);
  await setNumber(p.locator('[data-testid=rule-threshold]').nth(1).locator('.el-input-number').nth(1), 1);
  await setNumber(p.locator('[data-testid=rule-min]'), 1);
  await setNumber(p.locator('[data-testid=rule-black]'), 0.5);
  await p.locator('[data-testid=rule-save]').click();
  const ruleErr = p.locator('[data-testid=rule-error]');
  await ruleErr.waitFor({ timeout: T });
  check((await ruleErr.innerText()).includes('monthly'), `a rate given twice is refused, naming the field (${await ruleErr.innerText()})`);
  await shot(p, 'village-rule-error');
  await p.locator('[data-testid=rule-threshold]').nth(1).locator('button', { hasText: '删除' }).click();
  await p.locator('[data-testid=rule-save]').click();
  await p.locator('.el-message--success', { hasText: '新规则已保存' }).waitFor({ timeout: T });
  const sc = await api(`/v1/regions/${village.id}/scoring`, { token: w.admin });
  check(sc.id && sc.source_region_id === village.id && sc.effective_month === thisMonth() && sc.per_pass === 2 && sc.per_partial === 1 &&
    sc.monthly.length === 1 && sc.monthly[0].min_rate === 0.8 && sc.monthly[0].points === 5 && sc.min_inspections === 1 && sc.black_below === 0.5,
    `the rule is stored (${JSON.stringify(sc)})`);
  await p.locator('[data-testid=rule-current]', { hasText: '每次合格积分' }).waitFor({ timeout: T });
  await shot(p, 'village-rule');

  // ---- a paid inspection with a photo, voided from the drawer
  const jpeg = await p.evaluate(() => {
    const c = document.createElement('canvas');
    c.width = 64;
    c.height = 48;
    const g = c.getContext('2d');
    g.fillStyle = '#07813c';
    g.fillRect(0, 0, 64, 48);
    g.fillStyle = '#fff';
    g.fillRect(16, 12, 32, 24);
    return c.toDataURL('image/jpeg', 0.8);
  });
  const paid = await inspect(hh[3], 'pass', { photo: jpeg, streams: [{ stream: 'kitchen', correct: true }] });
  check(paid.points === 2 && paid.has_photo, `the new inspection is paid by the rule (${paid.points})`);
  await p.locator('#tab-list').click();
  await p.locator('[data-testid=insp-search]').click();
  const row = table.locator('tbody tr').filter({ has: p.locator('td:first-child', { hasText: new RegExp(`^\\s*${paid.id}\\s*$`) }) });
  await row.waitFor({ timeout: T });
  await row.locator('[data-testid=insp-open]').click();
  const img = p.locator('[data-testid=insp-photo]');
  await img.waitFor({ timeout: T });
  check((await img.getAttribute('src')).startsWith('blob:') && (await img.evaluate((i) => i.complete && i.naturalWidth === 64)), 'the photo is shown from a blob: URL');
  await p.locator('input[name=void-reason]').fill('录错了住户');
  await p.locator('[data-testid=void-submit]').click();
  const vr = p.locator('[data-testid=void-result]');
  await vr.waitFor({ timeout: T });
  check((await vr.innerText()).includes('扣回 2 分') && (await vr.innerText()).includes('不足 0 分'), `clawed_back and shortfall are shown (${await vr.innerText()})`);
  await p.waitForTimeout(400);
  await shot(p, 'village-void');
  const voided = await api(`/v1/inspections/${paid.id}`, { token: w.admin });
  check(voided.status === 'voided' && voided.void_reason === '录错了住户', 'the inspection is voided, with its reason');
  await p.keyboard.press('Escape');
  await row.locator('[data-testid=insp-status]', { hasText: '已作废' }).waitFor({ timeout: T });
  check(true, 'the list shows it voided');

  // ---- settlement of last month (nothing to pay), then the honour roll
  await p.locator('#tab-settle').click();
  await p.locator('[data-testid=settle-run]').click();
  await p.locator('[data-testid=settle-result]').waitFor({ timeout: T });
  check(true, `last month settles (${await p.locator('[data-testid=settle-result]').innerText()})`);
  await p.locator('#tab-honour').click();
  await p.locator('[data-testid=roll-load]').click();
  const red = p.locator('[data-testid=roll-red]');
  const black = p.locator('[data-testid=roll-black]');
  await red.locator('tbody tr').nth(1).waitFor({ timeout: T });
  const redText = await red.innerText();
  const blackText = await black.innerText();
  check(redText.includes(hh[0].head_name[0] + '*') && redText.includes('100%'), `the red list holds the passes (${redText.replace(/\s+/g, ' ')})`);
  check((await black.locator('tbody tr').count()) === 1 && blackText.includes(hh[2].head_name[0] + '*'), 'the black list holds the fail');
  check(!redText.includes(hh[3].head_name[0] + '*') || hh[3].head_name[0] === hh[0].head_name[0], 'the voided inspection counts nowhere');
  await shot(p, 'village-honour-roll');
  const [dl] = await Promise.all([p.waitForEvent('download', { timeout: T }), p.locator('[data-testid=roll-pdf]').click()]);
  const pdf = readFileSync(await dl.path());
  check(pdf.subarray(0, 4).toString('latin1') === '%PDF' && dl.suggestedFilename().endsWith('.pdf'), `the poster PDF downloads (${pdf.length} bytes)`);
  const [dl2] = await Promise.all([p.waitForEvent('download', { timeout: T }), p.locator('[data-testid=roll-csv]').click()]);
  const csv = readFileSync(await dl2.path(), 'utf8');
  check(csv.includes('list,rank') && csv.includes('black,1'), 'the CSV downloads');

  // ---- the Staff section: an attendant for a site of the village
  const site = await api('/v1/sites', { method: 'POST', token: w.admin, body: { region_id: village.id, name: `回收点 ${tag()}`, tier: 'dropoff', network: 'recycling', address: '村口' } });
  await p.goto(`${BASE}/console/#/staff?region_id=${village.id}`);
  const st = p.locator('[data-testid=staff-table]');
  await st.locator('tbody tr', { hasText: inspector.username }).waitFor({ timeout: T });
  check(true, 'the village\'s inspector is listed');
  await p.locator('[data-testid=staff-create]').click();
  await p.locator('[data-testid=staff-role]').click();
  const opts = p.locator('.el-select-dropdown__item:visible');
  await opts.first().waitFor({ timeout: T });
  check((await p.locator('.el-select-dropdown__item.is-disabled:visible').count()) === 0, 'the admin may grant every role');
  await opts.filter({ hasText: '投放点值守员' }).click();
  await p.locator('[data-testid=staff-site]').click();
  await p.locator('.el-select-dropdown__item:visible', { hasText: site.name }).click();
  const username = `att_${tag(8)}`;
  const f = p.locator('[data-testid=staff-form]');
  await f.locator('input[name=username]').fill(username);
  await f.locator('input[name=display_name]').fill('值守员小王');
  await f.locator('input[name=password]').fill('attendant-pass-01');
  await shot(p, 'village-staff-form');
  await p.locator('[data-testid=staff-save]').click();
  await st.locator('tbody tr', { hasText: username }).waitFor({ timeout: T });
  const list = await api(`/v1/staff?region_id=${village.id}&limit=500`, { token: w.admin });
  const made = list.items.find((s) => s.username === username);
  const one = made && (await api(`/v1/staff/${made.id}`, { token: w.admin }));
  check(one && one.role === 'attendant' && one.site_id === site.id && one.region_id === village.id && one.display_name === '值守员小王' && one.status === 'active',
    `the attendant is created (${JSON.stringify(one)})`);
  check(!!(await login(username, 'attendant-pass-01')), 'and signs in');
  await p.waitForTimeout(400);
  await shot(p, 'village-staff');

  // ---- a village admin: the admin role and a peer region admin are disabled
  const va = await staff(w.admin, { role: 'region_admin', region_id: village.id });
  const q = await page(b, { mobile: false, name: 'console-village-admin' });
  await signIn(q, va.username, va.password);
  await q.goto(`${BASE}/console/#/staff`);
  await q.locator('[data-testid=staff-region]', { hasText: village.name }).waitFor({ timeout: T });
  await q.locator('[data-testid=staff-create]').click();
  await q.locator('[data-testid=staff-role]').click();
  await q.locator('.el-select-dropdown__item:visible').first().waitFor({ timeout: T });
  const disabled = await q.locator('.el-select-dropdown__item.is-disabled:visible').allInnerTexts();
  check(disabled.length === 2 && disabled.some((s) => s.includes('系统管理员')) && disabled.some((s) => s.includes('区域管理员')), `a village admin cannot grant admin or a peer region admin (${disabled.join(' | ')})`);
  await shot(q, 'village-admin-roles');

  check(Date.now() - started < 60000, `the spec ran in ${Math.round((Date.now() - started) / 1000)} s`);
});
