// The station's camera path, with a real card: the household's card PNG
// (GET /v1/households/{id}/card.png, as the admin prints it) is decoded
// here, centred on a white 640x480 frame and written as a Y4M video that
// Chromium's fake camera plays (--use-file-for-fake-video-capture). The
// attendant opens the camera, qr-scanner reads the card from the video, the
// household and its balance show, a line is added and recorded, and the
// API's ledger holds that drop-off exactly once.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, check, decodePng, page, run, shot, staff, tag, world, writeY4m, BASE, OUT } from './lib.mjs';

const T = 15000;
let w, site, att, h;

async function prepare() {
  w = await world();
  site = await api('/v1/sites', {
    method: 'POST',
    token: w.admin,
    body: { region_id: w.village.id, name: `交投点 ${tag()}`, tier: 'dropoff', network: 'integrated', address: '测试村村委会' },
  });
  att = await staff(w.admin, { role: 'attendant', region_id: w.village.id, site_id: site.id });
  h = await api('/v1/households', { method: 'POST', token: w.admin, body: { region_id: w.village.id, head_name: '周玉梅', address: '测试村8号', pin: '3691' } });
  await api(`/v1/households/${h.id}/adjustments`, {
    method: 'POST',
    token: w.admin,
    headers: { 'Idempotency-Key': `camera-${h.id}` },
    body: { points: 77, reason: '浏览器测试' },
  });
  const r = await fetch(`${BASE}/v1/households/${h.id}/card.png?size=300`, { headers: { Authorization: `Bearer ${w.admin}` } });
  if (r.status !== 200 || r.headers.get('content-type') !== 'image/png') throw new Error(`card.png: ${r.status} ${r.headers.get('content-type')}`);
  const card = decodePng(Buffer.from(await r.arrayBuffer()));
  check(card.width === card.height && card.width > 200 && card.width <= 300, `the card PNG decodes (${card.width}x${card.height}, a whole number of pixels a module)`);
  mkdirSync(OUT, { recursive: true });
  const file = writeY4m(join(OUT, 'card.y4m'), card, { width: 640, height: 480, frames: 10 });
  const y4m = readFileSync(file);
  const head = 'YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n';
  check(y4m.subarray(0, head.length).toString() === head && y4m.length === head.length + 10 * (6 + 640 * 480 * 1.5), 'the card video is written (10 frames)');
  return [`--use-file-for-fake-video-capture=${file}`];
}

await run(
  async (b) => {
    const cats = (await api('/v1/categories', { token: att.token })).items;
    const paper = cats.find((c) => c.code === 'paper');
    if (!paper || !paper.rate) throw new Error('no rate for paper');
    const grams = 3200;
    const pts = Math.floor((grams * paper.rate) / 1000);

    const p = await page(b, { name: 'station-camera' });
    // what the camera gave the page (the popup closes as soon as the card is
    // read, too soon to look at the video element)
    await p.addInitScript(() => {
      const md = navigator.mediaDevices;
      const gum = md && md.getUserMedia && md.getUserMedia.bind(md);
      if (!gum) return;
      md.getUserMedia = async (c) => {
        const stream = await gum(c);
        const t = stream.getVideoTracks()[0];
        if (t) window.__camera = { width: t.getSettings().width, height: t.getSettings().height, label: t.label };
        return stream;
      };
    });
    await p.goto(`${BASE}/station/`);
    await p.locator('input[name=username]').fill(att.username);
    await p.locator('input[name=password]').fill(att.password);
    await p.locator('button[type=submit]').click();
    await p.locator('[data-testid=place]').waitFor({ timeout: T });

    // the camera reads the card from the video
    const tid = (id) => p.locator(`[data-testid=${id}]`);
    const scanned = p.waitForResponse((r) => r.url().endsWith('/v1/scan') && r.request().method() === 'POST', { timeout: 30000 });
    await tid('camera').click();
    const answer = await scanned;
    const cam = await p.evaluate(() => window.__camera);
    check(cam && cam.width === 640 && cam.height === 480, `the camera played the card video (${JSON.stringify(cam)})`);
    check(answer.status() === 200 && JSON.parse(answer.request().postData()).code === h.code, 'the code read from the video is the card\'s, and is looked up');
    await tid('household').waitFor({ timeout: T });
    check((await tid('camera-video').count()) === 0, 'the camera closes once the card is read');
    check((await tid('code').locator('input').inputValue()) === h.code, 'the card code is filled in');
    check((await tid('balance').innerText()).replace(/\D/g, '') === '77', 'the household\'s balance shows (77)');
    check((await tid('household').innerText()).includes('周'), 'and its masked head name');
    check((await tid('household').getAttribute('data-status')) === 'active', 'and its status');
    await shot(p, 'station-camera-read');

    // a line, then record
    await tid('cat-paper').click();
    await tid('qty').locator('input').fill(String(grams));
    await tid('add-line').click();
    const posted = p.waitForResponse((r) => r.url().endsWith('/v1/dropoffs') && r.request().method() === 'POST');
    await tid('record').click();
    const drop = await (await posted).json();
    const res = tid('result');
    await res.waitFor({ timeout: T });
    check(Number(await res.getAttribute('data-points')) === pts, `recording shows the points earned (${pts})`);
    check(Number(await res.getAttribute('data-balance')) === 77 + pts, `and the new balance (${77 + pts})`);
    await shot(p, 'station-camera-recorded');

    // the ledger: the drop-off once
    const ledger = (await api(`/v1/households/${h.id}/ledger?limit=100`, { token: w.admin })).items;
    const drops = ledger.filter((r) => r.kind === 'dropoff');
    check(drops.length === 1 && drops[0].delta === pts && drops[0].ref_id === drop.id, `the ledger holds the drop-off once (${drops.length} rows)`);
    check(ledger[0].balance_after === 77 + pts, 'and the balance after it');
    const d = await api(`/v1/dropoffs/${drop.id}`, { token: w.admin });
    check(d.site_id === site.id && d.household_id === h.id, 'recorded at the attendant\'s site for this household');
  },
  { args: prepare },
);
