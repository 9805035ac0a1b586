// The region a catalogue section works on: the route's ?region_id=
// (useRouteRegion: without it a region admin's own region, an admin's none,
// the whole tree), with what the section's RegionCascader needs: the path
// of ids it shows the region with, and choose(ids) for a region picked in it.
import { computed } from 'vue';
import { api } from '../../api.js';
import { useErrText } from '../../composables/useErrText.js';
import { useRouteRegion } from '../../composables/useRouteRegion.js';

// The ids of region's path from the caller's top: an admin's from the
// province, a region admin's from its own region.
export function pathFromTop(region, me) {
  if (!region) return [];
  const path = Array.isArray(region.path) && region.path.length ? region.path.map((p) => p.id) : [region.id];
  if (!me || me.role === 'admin') return path;
  const i = path.indexOf(me.region_id);
  return i >= 0 ? path.slice(i) : [region.id];
}

// As useRouteRegion (onChange({ before, after }), topError, ready...), and
// isAdmin (from the session until the caller is read), pathIds, choose(ids).
export function useRegionQuery() {
  const r = useRouteRegion(useErrText(null, { not_found: 'console.catalogue.regionNotFound' }));
  const isAdmin = computed(() => (r.me.value ? r.me.value.role : (api.session || {}).role) === 'admin');
  const pathIds = computed(() => pathFromTop(r.region.value, r.me.value));

  function choose(ids) {
    r.topError.value = '';
    r.setRegion(Array.isArray(ids) && ids.length ? ids[ids.length - 1] : null);
  }

  return { ...r, isAdmin, pathIds, choose };
}
