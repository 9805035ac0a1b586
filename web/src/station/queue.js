// The offline queue of drop-offs (IndexedDB, through idb).
//
// Guarantees (see docs/architecture.md):
//  - a drop-off is written to IndexedDB, with its client_ref, before the app
//    says it is saved;
//  - an entry leaves the queue only once the server has answered it for
//    good (created, replayed, or refused); a network failure, 5xx,
//    `unavailable` or `outcome_unknown` leaves it queued for the next try;
//  - every try sends the same client_ref (batch) or Idempotency-Key (single)
//    with the same body, so the server credits it once whatever happened
//    to earlier tries (a reload, a closed tab, an answer cut off half-way).
//
// Two kinds of entry:
//  - 'batch': recorded while offline; sent by POST /v1/dropoffs/batch with
//    its client_ref and recorded_at;
//  - 'single': a POST /v1/dropoffs whose outcome is unknown (the network
//    failed under it); sent again as the same POST with the same key.
import { openDB } from 'idb';
import { reactive } from 'vue';
import { newKey } from '../shared/api.js';

const DB = 'wastebank-station';
const QUEUE = 'queue';
const LOG = 'log';
const LOG_KEEP = 50;
const BATCH_MAX = 100;
const RETRY_MIN = 2000;
const RETRY_MAX = 5 * 60 * 1000;
// item errors that mean "send it again", not a refusal
const TRANSIENT = new Set(['unavailable', 'outcome_unknown', 'internal', 'rate_limited', 'network']);

let dbp = null;
function db() {
  if (!dbp) {
    dbp = openDB(DB, 1, {
      upgrade(d) {
        d.createObjectStore(QUEUE, { keyPath: 'client_ref' });
        d.createObjectStore(LOG, { keyPath: 'client_ref' });
      },
    });
  }
  return dbp;
}

// What the screens show: waiting entries and the latest answers.
export const queueState = reactive({
  pending: [],
  log: [],
  syncing: false,
  lastError: null,
  nextTry: null,
});

let api = null;
let siteId = null;
let timer = null;
let delay = RETRY_MIN;

export function localTime(d = new Date()) {
  const p = (n) => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const a = Math.abs(off);
  return (
    `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}` +
    `${sign}${p(Math.floor(a / 60))}:${p(a % 60)}`
  );
}

export async function refresh() {
  const d = await db();
  const all = await d.getAll(QUEUE);
  queueState.pending = all.filter((e) => siteId === null || e.site_id === siteId).sort((a, b) => a.seq - b.seq);
  const log = await d.getAll(LOG);
  queueState.log = log.filter((e) => siteId === null || e.site_id === siteId).sort((a, b) => b.done_at - a.done_at);
}

// Put a drop-off in the queue; resolves once IndexedDB has committed it.
// body: {code, items, recorded_at?, note?}; key: the Idempotency-Key of a
// 'single' entry (its body is then sent exactly as first sent).
export async function enqueue(body, { kind = 'batch', key = null } = {}) {
  const entry = {
    client_ref: key || newKey(),
    kind,
    site_id: siteId,
    body: kind === 'batch' ? { recorded_at: localTime(), ...body } : body,
    queued_at: Date.now(),
    seq: Date.now() + Math.random(),
    tries: 0,
  };
  const d = await db();
  const tx = d.transaction(QUEUE, 'readwrite');
  await tx.store.put(entry);
  await tx.done;
  await refresh();
  return entry;
}

async function settle(entry, result) {
  const d = await db();
  const tx = d.transaction([QUEUE, LOG], 'readwrite');
  await tx.objectStore(LOG).put({
    client_ref: entry.client_ref,
    site_id: entry.site_id,
    code: entry.body.code,
    recorded_at: entry.body.recorded_at || null,
    items: entry.body.items,
    done_at: Date.now(),
    ...result,
  });
  await tx.objectStore(QUEUE).delete(entry.client_ref);
  await tx.done;
}

async function trimLog() {
  const d = await db();
  const all = (await d.getAll(LOG)).sort((a, b) => b.done_at - a.done_at);
  if (all.length <= LOG_KEEP) return;
  const tx = d.transaction(LOG, 'readwrite');
  for (const e of all.slice(LOG_KEEP)) tx.store.delete(e.client_ref);
  await tx.done;
}

function answered(status, dropoff) {
  return {
    status,
    points: dropoff ? dropoff.points : null,
    balance: dropoff ? dropoff.balance : null,
    capped: !!(dropoff && dropoff.capped),
  };
}

function refused(err) {
  return { status: 'refused', error: { code: err.code, field: err.field || null, message: err.message || '' } };
}

// One batch: resolves true when the server answered (items may stay
// queued with a transient item error), throws on a network failure.
async function sendBatch(entries) {
  const res = await api.post('/v1/dropoffs/batch', {
    dropoffs: entries.map((e) => ({ ...e.body, client_ref: e.client_ref })),
  });
  const byRef = new Map(entries.map((e) => [e.client_ref, e]));
  let again = false;
  for (const r of res.results || []) {
    const e = byRef.get(r.client_ref);
    if (!e) continue;
    if (r.status === 'created' || r.status === 'replayed') {
      await settle(e, answered(r.status === 'created' ? 'credited' : 'replayed', r.dropoff));
    } else if (r.error && TRANSIENT.has(r.error.code)) {
      again = true;
    } else {
      await settle(e, refused(r.error || { code: 'unknown' }));
    }
  }
  return again;
}

async function sendSingle(e) {
  try {
    const d = await api.post('/v1/dropoffs', e.body, { idempotencyKey: e.client_ref });
    await settle(e, answered(d.replayed ? 'replayed' : 'credited', d));
    return false;
  } catch (err) {
    if (err.status === 0 || err.status >= 500 || err.status === 429 || err.status === 401) throw err;
    await settle(e, refused(err));
    return false;
  }
}

async function syncNow() {
  const d = await db();
  const all = (await d.getAll(QUEUE)).filter((e) => e.site_id === siteId).sort((a, b) => a.seq - b.seq);
  let again = false;
  const singles = all.filter((e) => e.kind === 'single');
  const batch = all.filter((e) => e.kind !== 'single');
  for (const e of singles) again = (await sendSingle(e)) || again;
  for (let i = 0; i < batch.length; i += BATCH_MAX) {
    again = (await sendBatch(batch.slice(i, i + BATCH_MAX))) || again;
  }
  return again;
}

function schedule(ms) {
  clearTimeout(timer);
  queueState.nextTry = Date.now() + ms;
  timer = setTimeout(() => sync(), ms);
}

// Send what is queued. One sync at a time, across tabs too (Web Locks).
export async function sync() {
  if (!api || siteId === null || queueState.syncing) return;
  clearTimeout(timer);
  queueState.nextTry = null;
  await refresh();
  if (!queueState.pending.length) return;
  if (typeof navigator !== 'undefined' && navigator.onLine === false) {
    schedule(delay);
    return;
  }
  queueState.syncing = true;
  const run = async () => {
    try {
      const again = await syncNow();
      queueState.lastError = null;
      delay = RETRY_MIN;
      if (again) schedule(delay);
    } catch (err) {
      queueState.lastError = err.code || 'network';
      if (err.status === 401) return; // signed out: the queue waits for the next sign-in
      delay = Math.min(RETRY_MAX, delay * 2);
      schedule(delay + Math.floor(Math.random() * 1000));
    }
  };
  try {
    if (navigator.locks && navigator.locks.request) await navigator.locks.request('wastebank-station-sync', run);
    else await run();
  } finally {
    queueState.syncing = false;
    await trimLog();
    await refresh();
  }
}

function onOnline() {
  delay = RETRY_MIN;
  sync();
}

// Start for the signed-in attendant of site `site`.
export async function startQueue(client, site) {
  api = client;
  siteId = site;
  window.removeEventListener('online', onOnline);
  window.addEventListener('online', onOnline);
  await refresh();
  sync();
}

export function stopQueue() {
  clearTimeout(timer);
  window.removeEventListener('online', onOnline);
  api = null;
  siteId = null;
  queueState.pending = [];
  queueState.log = [];
}

export async function clearLog() {
  const d = await db();
  const tx = d.transaction(LOG, 'readwrite');
  for (const e of queueState.log) tx.store.delete(e.client_ref);
  await tx.done;
  await refresh();
}
