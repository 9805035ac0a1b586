// Shared by the chain sections (Sites & stock, Shipments): quantities in
// their category's unit, and look-ups of the sites, staff and regions a row
// names by id (cached per sign-in; a 404 — out of reach — is
// remembered as unknown, never retried in a loop).
import { api } from '../../api.js';

export { categoryName, loadCategories, unitOf } from '../../lookups.js';

export const TIERS = ['dropoff', 'transfer', 'sorting'];
export const NETWORKS = ['sanitation', 'recycling', 'integrated'];
export const KINDS = ['dropoff', 'reversal', 'shipment_out', 'shipment_in', 'shipment_cancel', 'count', 'outbound'];
export const SHIPMENT_STATUSES = ['in_transit', 'received', 'cancelled'];

export const TIER_TYPE = { dropoff: 'success', transfer: 'warning', sorting: 'danger' };
export const STATUS_TYPE = { in_transit: 'warning', received: 'success', cancelled: 'info' };
export const KIND_TYPE = {
  dropoff: 'success',
  reversal: 'danger',
  shipment_out: 'warning',
  shipment_in: 'primary',
  shipment_cancel: 'info',
  count: 'info',
  outbound: 'danger',
};

// Grams up to this many are 50,000 kg; items up to 100,000 (api.md).
export const MAX_GRAMS = 50000000;
export const MAX_ITEMS = 100000;

let owner = null;
const sites = new Map();
const staff = new Map();
const regions = new Map();

function fresh() {
  if (owner !== api.token) {
    owner = api.token;
    sites.clear();
    staff.clear();
    regions.clear();
  }
}

function fmt(n, locale, digits) {
  return new Intl.NumberFormat(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(n);
}

// A stock quantity as shown: grams as kg with 3 decimals, items as a count.
export function qty(t, locale, n, unit) {
  if (n === null || n === undefined || !Number.isFinite(Number(n))) return '';
  const v = Number(n);
  if (unit === 'item') return t('console.chain.items', { n: fmt(v, locale, 0) }, Math.abs(v));
  return t('console.chain.kg', { n: fmt(v / 1000, locale, 3) });
}

// The same with its sign (+, − or none), for movements and differences.
export function signedQty(t, locale, n, unit) {
  const v = Number(n);
  if (!Number.isFinite(v)) return '';
  return (v > 0 ? '+' : v < 0 ? '−' : '') + qty(t, locale, Math.abs(v), unit);
}

// A site by id: the object, or {id, unknown: true} when it is out of reach.
export function siteOf(id) {
  fresh();
  if (!sites.has(id)) {
    sites.set(
      id,
      api.get(`/v1/sites/${id}`).catch((err) => {
        if (err && err.status === 404) return { id, unknown: true };
        sites.delete(id);
        throw err;
      }),
    );
  }
  return sites.get(id);
}

export function rememberSite(s) {
  fresh();
  if (s && s.id) sites.set(s.id, Promise.resolve(s));
}

// A staff member's display name (or username); null when not readable.
export function staffName(id) {
  fresh();
  if (!id) return Promise.resolve(null);
  if (!staff.has(id)) {
    staff.set(
      id,
      api.get(`/v1/staff/${id}`).then(
        (s) => s.display_name || s.username || null,
        () => null,
      ),
    );
  }
  return staff.get(id);
}

// A region's path, top first, as a list of names; null when not readable.
export function regionPath(id) {
  fresh();
  if (!id) return Promise.resolve(null);
  if (!regions.has(id)) {
    regions.set(
      id,
      api.get(`/v1/regions/${id}`).then(
        (r) => (Array.isArray(r.path) && r.path.length ? r.path : [r]).map((p) => p.name),
        () => null,
      ),
    );
  }
  return regions.get(id);
}

// Whether a failure leaves the outcome open (the same request, with the
// same Idempotency-Key, must be sent again rather than a new one).
export function outcomeOpen(err) {
  if (!err) return false;
  return err.status === 0 || err.code === 'network' || err.code === 'outcome_unknown' || err.status >= 500;
}
