// The region a section works on: ?region_id= of the route, else the
// caller's own region (a region admin); an admin without one has none.
import { api } from './api.js';
import { loadMe } from './me.js';

export function pathText(r) {
  return (Array.isArray(r.path) && r.path.length ? r.path : [r]).map((p) => p.name).join(' / ');
}

export async function resolveRegion(query) {
  const me = await loadMe().catch(() => null);
  const asked = query.region_id ? Number(query.region_id) : null;
  const id = asked || (me && me.role !== 'admin' ? me.region_id : null);
  if (!id) return { me, region: null };
  const r = await api.get(`/v1/regions/${id}`);
  return { me, region: { ...r, pathText: pathText(r) } };
}

function pad(n) {
  return String(n).padStart(2, '0');
}

export function thisMonth() {
  const d = new Date();
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}`;
}

export function lastMonth() {
  const d = new Date();
  d.setDate(1);
  d.setMonth(d.getMonth() - 1);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}`;
}
