// The region tree the caller reaches, a level at a time: the regions under
// a parent (GET /v1/regions?parent_id=; none: the caller's top, an admin's
// provinces, a region admin's own region). RegionTree pages a level with a
// "more…" node, RegionCascader reads it whole.
import { api } from '../api.js';
import { listAll } from '../lookups.js';

// One page of the regions under parentId: {items, next_cursor}.
export function regionPage(parentId, cursor, limit) {
  return api.get('/v1/regions', { query: { parent_id: parentId, limit, cursor } });
}

// Every region under parentId, up to `max`.
export async function regionChildren(parentId, max = 2000) {
  return (await listAll('/v1/regions', { parent_id: parentId }, max)).items;
}
