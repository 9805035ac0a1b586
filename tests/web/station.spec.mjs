// The attendant station: sign in, type a card code (as a keyboard-wedge
// scanner does), add a line, record and see the points; then offline:
// five drop-offs go to the IndexedDB queue, the page reloads with no network
// (from the service worker) and still counts them; back online they sync
// and show as credited. One more, whose sync answer is cut off after the
// server answered, is sent again and shows as replayed. The household's
// ledger holds each drop-off exactly once. First, in a profile of its own,
// the station is installable as an app (its web app manifest and icons,
// precached by the service worker).
// The card code is typed here; station_camera.spec.mjs reads a real card
// through the camera.
import { api, check, page, problems, profilePage, run, shot, staff, tag, world, BASE } from './lib.mjs';

const wait = (ms) => new Promise((r) => setTimeout(r, ms));

await run(async (b) => {
  const w = await world();
  const site = await api('/v1/sites', {
    method: 'POST',
    token: w.admin,
    body: { region_id: w.village.id, name: `交投点 ${tag()}`, tier: 'dropoff', network: 'integrated', address: '测试村村委会' },
  });
  const att = await staff(w.admin, { role: 'attendant', region_id: w.village.id, site_id: site.id });
  const h = await api('/v1/households', { method: 'POST', token: w.admin, body: { region_id: w.village.id, head_name: '李建国', address: '测试村2号', pin: '1357' } });
  const cats = (await api('/v1/categories', { token: att.token })).items;
  const metal = cats.find((c) => c.code === 'metal');
  if (!metal || !metal.rate) throw new Error('no rate for metal');
  const pts = (g) => Math.floor((g * metal.rate) / 1000);

  // installable as an app: the manifest is linked, served with its type,
  // parsed without errors, and Chromium (in a real profile: it calls nothing
  // installable in an incognito one) finds nothing in the way
  const inst = await profilePage({ name: 'station-install' });
  const ip = inst.page;
  await ip.goto(`${BASE}/station/`);
  await ip.locator('input[name=username]').waitFor({ timeout: 10000 });
  await ip.evaluate(async () => {
    await navigator.serviceWorker.ready;
    for (let i = 0; i < 100 && !navigator.serviceWorker.controller; i++) await new Promise((r) => setTimeout(r, 100));
  });
  const href = await ip.locator('link[rel=manifest]').getAttribute('href');
  check(href === '/station/manifest.webmanifest', `index.html links the manifest (${href})`);
  const mr = await fetch(BASE + href);
  check(mr.status === 200 && mr.headers.get('content-type') === 'application/manifest+json',
    `the manifest is served as application/manifest+json (${mr.status} ${mr.headers.get('content-type')})`);
  const manifest = await mr.json();
  check(manifest.start_url === '/station/' && manifest.scope === '/station/' && manifest.display === 'standalone', 'start_url and scope /station/, display standalone');
  check(manifest.name && manifest.short_name === '投放点' && /^#[0-9a-f]{6}$/i.test(manifest.theme_color) && /^#[0-9a-f]{6}$/i.test(manifest.background_color),
    `its name (${manifest.name}), short_name and colours`);
  for (const size of [192, 512]) {
    for (const purpose of ['any', 'maskable']) {
      const icon = manifest.icons.find((i) => i.sizes === `${size}x${size}` && i.purpose === purpose && i.type === 'image/png');
      const r = icon && (await fetch(new URL(icon.src, BASE)));
      const png = r && r.status === 200 ? Buffer.from(await r.arrayBuffer()) : null;
      check(icon && new URL(icon.src, BASE).origin === new URL(BASE).origin && r.headers.get('content-type') === 'image/png' &&
        png && png.readUInt32BE(16) === size && png.readUInt32BE(20) === size, `a ${size} px PNG icon for purpose ${purpose}, from this origin`);
    }
  }
  const cdp = await ip.context().newCDPSession(ip);
  const am = await cdp.send('Page.getAppManifest');
  check(am.url === BASE + href && am.errors.length === 0, `Chromium parses the manifest without errors (${JSON.stringify(am.errors)})`);
  const ie = await cdp.send('Page.getInstallabilityErrors');
  check(ie.installabilityErrors.length === 0, `and finds it installable (${JSON.stringify(ie.installabilityErrors)})`);
  const precached = await ip.evaluate(async () => {
    const urls = [];
    for (const k of await caches.keys()) for (const r of await (await caches.open(k)).keys()) urls.push(new URL(r.url).pathname);
    return urls;
  });
  check([href, ...manifest.icons.map((i) => i.src)].every((u) => precached.some((c) => c === u)), 'the service worker precaches the manifest and its icons');

  await shot(ip, 'station-install-login');
  await inst.close();

  const p = await page(b, { name: 'station' });
  const ctx = p.context();
  await p.goto(`${BASE}/station/`);
  await p.locator('input[name=username]').fill(att.username);
  await p.locator('input[name=password]').fill(att.password);
  await p.locator('button[type=submit]').click();
  await p.locator('[data-testid=place]').waitFor({ timeout: 10000 });
  check((await p.locator('[data-testid=place]').innerText()) === site.name, 'the attendant sees the site');

  // the service worker controls the page before the network goes
  const controlled = await p.evaluate(async () => {
    await navigator.serviceWorker.ready;
    for (let i = 0; i < 100 && !navigator.serviceWorker.controller; i++) await new Promise((r) => setTimeout(r, 100));
    return !!navigator.serviceWorker.controller;
  });
  check(controlled, 'the service worker controls the station');

  const code = p.locator('[data-testid=code] input');
  async function addLine(grams) {
    await p.locator('[data-testid=cat-metal]').click();
    await p.locator('[data-testid=qty] input').fill(String(grams));
    await p.locator('[data-testid=add-line]').click();
  }

  // online: scan by typing + Enter, one line, record
  await code.fill(h.code);
  await code.press('Enter');
  const hh = p.locator('[data-testid=household]');
  await hh.waitFor({ timeout: 10000 });
  check((await p.locator('[data-testid=balance]').innerText()).replace(/\D/g, '') === '0', 'the scan shows the balance');
  check((await hh.innerText()).includes('李'), 'the scan shows the masked head name');
  await addLine(2500);
  await shot(p, 'station-lines');
  await p.locator('[data-testid=record]').click();
  const res = p.locator('[data-testid=result]');
  await res.waitFor({ timeout: 10000 });
  check(Number(await res.getAttribute('data-points')) === pts(2500), `recording shows the points earned (${pts(2500)})`);
  check(Number(await res.getAttribute('data-balance')) === pts(2500), 'and the new balance');
  await shot(p, 'station-recorded');

  // a refusal: a forged card
  await code.fill('WB1-not-a-card');
  await code.press('Enter');
  const se = p.locator('[data-testid=scan-error]');
  await se.waitFor({ timeout: 10000 });
  check((await se.getAttribute('data-code')) === 'unknown_code', 'a forged card is refused as unknown_code');

  // offline: five drop-offs go to the queue
  await ctx.setOffline(true);
  await p.locator('[data-testid=offline]').waitFor({ timeout: 5000 });
  async function recordOffline(grams) {
    await code.fill(h.code);
    await code.press('Enter');
    await p.locator('[data-testid=household-offline]').waitFor({ timeout: 5000 });
    await addLine(grams);
    await p.locator('[data-testid=record]').click();
    await p.locator('[data-testid=queued]').waitFor({ timeout: 5000 });
  }
  const OFFLINE = [1000, 500, 400, 300, 200];
  for (const g of OFFLINE) await recordOffline(g);
  const count = () => p.locator('[data-testid=queue]').getAttribute('data-count');
  check((await count()) === '5', 'the queue counts 5');
  const idb = () =>
    p.evaluate(
      () =>
        new Promise((resolve, reject) => {
          const r = indexedDB.open('wastebank-station');
          r.onerror = () => reject(r.error);
          r.onsuccess = () => {
            const q = r.result.transaction('queue').objectStore('queue').getAll();
            q.onsuccess = () => {
              resolve(q.result);
              r.result.close();
            };
          };
        }),
    );
  const stored = await idb();
  check(stored.length === 5 && stored.every((e) => e.client_ref && e.body.code === h.code && e.body.recorded_at), 'all five are in IndexedDB with a client_ref');
  await shot(p, 'station-offline-queued');

  // reload with no network: the service worker serves the app
  await p.reload();
  await p.locator('[data-testid=queue]').waitFor({ timeout: 10000 });
  check((await count()) === '5', 'after an offline reload the app opens and still counts 5');
  const offlineManifest = await p.evaluate(async () => {
    const r = await fetch('/station/manifest.webmanifest');
    return r.ok && (await r.json()).start_url;
  });
  check(offlineManifest === '/station/', 'offline, the service worker serves the web app manifest');
  await shot(p, 'station-offline-reloaded');

  // back online: the queue syncs, each shows credited
  await ctx.setOffline(false);
  for (let i = 0; i < 100 && (await count()) !== '0'; i++) await wait(200);
  check((await count()) === '0', 'the queue is sent when the network is back');
  const tabTo = async (name) => {
    await p.locator('[role=tab]', { hasText: name }).click();
    await wait(500); // the tab's slide
  };
  await tabTo('待上传');
  const statusOf = async (ref) => p.locator(`[data-testid=log-item][data-ref="${ref}"]`).getAttribute('data-status');
  for (const e of stored) check((await statusOf(e.client_ref)) === 'credited', `queued ${e.client_ref.slice(0, 8)} shows credited`);
  await shot(p, 'station-synced');

  // a sync whose answer is cut off after the server answered is sent again
  await tabTo('登记');
  await ctx.setOffline(true);
  await recordOffline(700);
  const [third] = await idb();
  let cut = 0;
  await p.route('**/v1/dropoffs/batch', async (route) => {
    if (cut++ === 0) {
      await route.fetch(); // the server applies it…
      await route.abort('connectionreset'); // …and the answer is lost
    } else await route.continue();
  });
  await ctx.setOffline(false);
  for (let i = 0; i < 150 && (await count()) !== '0'; i++) await wait(200);
  check(cut >= 2, `the cut-off sync was sent again (${cut} tries)`);
  check((await count()) === '0', 'and the queue is empty');
  await tabTo('待上传');
  check((await statusOf(third.client_ref)) === 'replayed', 'the retried one shows replayed (credited once, by the first try)');
  await shot(p, 'station-replayed');

  // the ledger: each drop-off once
  const ledger = (await api(`/v1/households/${h.id}/ledger?limit=100`, { token: w.admin })).items;
  const drops = ledger.filter((r) => r.kind === 'dropoff');
  const want = [2500, ...OFFLINE, 700].map(pts);
  check(drops.length === 7, `the ledger holds 7 drop-off rows (has ${drops.length})`);
  check(
    JSON.stringify(drops.map((r) => r.delta).sort((a, b) => a - b)) === JSON.stringify([...want].sort((a, b) => a - b)),
    `with the points ${want.join(', ')}`,
  );
  check(ledger[0].balance_after === want.reduce((a, x) => a + x, 0), 'and the balance is their sum');

  // ship 3000 g of metal to a transfer station of the county
  await p.unroute('**/v1/dropoffs/batch');
  const transfer = await api('/v1/sites', {
    method: 'POST',
    token: w.admin,
    body: { region_id: w.town.id, name: `中转站 ${tag()}`, tier: 'transfer', network: 'integrated', address: '测试镇' },
  });
  await tabTo('发运');
  await p.locator(`[data-testid=to-${transfer.id}]`).click();
  await p.locator('[data-testid=ship-metal] input').fill('3000');
  await p.locator('[data-testid=ship-send]').click();
  const sent = p.locator('[data-testid=shipment-sent]');
  await sent.waitFor({ timeout: 10000 });
  const shipId = Number(await sent.getAttribute('data-id'));
  await shot(p, 'station-shipped');
  const stock = await api(`/v1/sites/${site.id}/stock`, { token: att.token });
  const metalLine = stock.lines.find((l) => l.category === 'metal');
  check(metalLine && metalLine.on_hand === 2500 + OFFLINE.reduce((a, g) => a + g, 0) + 700 - 3000, 'the shipment left the stock of the drop-off site');

  // receive it at the transfer station, weighed 2950 g on arrival
  const att2 = await staff(w.admin, { role: 'attendant', region_id: w.town.id, site_id: transfer.id });
  const p2 = await page(b, { name: 'station-transfer' });
  await p2.goto(`${BASE}/station/`);
  await p2.locator('input[name=username]').fill(att2.username);
  await p2.locator('input[name=password]').fill(att2.password);
  await p2.locator('button[type=submit]').click();
  await p2.locator(`[data-testid=incoming-${shipId}]`).click({ timeout: 10000 });
  await p2.locator('[data-testid=recv-metal] input').fill('2950');
  await p2.locator('[data-testid=receive-confirm]').click();
  await p2.locator('[data-testid=received]').waitFor({ timeout: 10000 });
  await shot(p2, 'station-received');
  const shp = await api(`/v1/shipments/${shipId}`, { token: w.admin });
  check(shp.status === 'received' && shp.lines[0].received === 2950 && shp.lines[0].loss === 50, 'the transfer station received it, with a 50 g loss');

  // the browser logs the network failures the test caused itself (offline
  // and the cut-off answer); those are expected, nothing else is
  for (let i = problems.length - 1; i >= 0; i--) {
    if (/ERR_INTERNET_DISCONNECTED|ERR_CONNECTION_RESET|ERR_FAILED/.test(problems[i])) problems.splice(i, 1);
  }
});
