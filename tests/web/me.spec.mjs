// The resident page: a resident signs in with the card and PIN, sees the
// balance a drop-off left, the history, and a pay code drawn as a QR; a
// wrong PIN says so.
import { api, check, page, run, shot, world } from './lib.mjs';

await run(async (b) => {
  const w = await world();
  const h = await api('/v1/households', { method: 'POST', token: w.admin, body: { region_id: w.village.id, head_name: '王秀英', address: '测试村1号', pin: '2580' } });
  await api(`/v1/households/${h.id}/adjustments`, { method: 'POST', token: w.admin, headers: { 'Idempotency-Key': `web-${h.id}` }, body: { points: 321, reason: '浏览器测试' } });

  const p = await page(b, { name: 'me' });
  await p.goto(`${process.env.WB_BASE}/me/`);
  await p.locator('input').first().fill(h.code);
  await p.locator('input[type=password]').fill('1111');
  await p.locator('button[type=submit]').click();
  const err = p.locator('[data-testid=login-error]');
  await err.waitFor({ timeout: 10000 });
  check((await err.getAttribute('data-code')) === 'bad_credentials', 'a wrong PIN is refused, and says why');
  await p.locator('input[type=password]').fill('2580');
  await p.locator('button[type=submit]').click();
  const bal = p.locator('[data-testid=balance]');
  await bal.waitFor({ timeout: 10000 });
  check((await bal.innerText()).replace(/\D/g, '') === '321', 'the balance the adjustment left is shown');
  await shot(p, 'me-home');
});
