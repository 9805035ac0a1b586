// The region a catalogue section works on, kept in the route's ?region_id=
// (so a link opens the same view): resolved with its path (scope.js), and
// the path of ids RegionCascader shows it with. Without ?region_id= a region
// admin works on its own region and an admin on none (the whole tree).
import { computed, ref, watch } from 'vue';
import { useRoute, useRouter } from 'vue-router';
import { api } from '../../api.js';
import { resolveRegion } from '../../scope.js';

// The ids of region's path from the caller's top: an admin's from the
// province, a region admin's from its own region.
export function pathFromTop(region, me) {
  if (!region) return [];
  const path = Array.isArray(region.path) && region.path.length ? region.path.map((p) => p.id) : [region.id];
  if (!me || me.role === 'admin') return path;
  const i = path.indexOf(me.region_id);
  return i >= 0 ? path.slice(i) : [region.id];
}

// onChange(region) runs after every change of the route's region, once
// resolved (region null: none); onError(err) when it could not be.
export function useRegionQuery({ onChange, onError }) {
  const route = useRoute();
  const router = useRouter();
  const me = ref(null);
  const region = ref(null);
  const ready = ref(false);
  const isAdmin = computed(() => (me.value ? me.value.role : (api.session || {}).role) === 'admin');
  const pathIds = computed(() => pathFromTop(region.value, me.value));

  function choose(ids) {
    const { region_id: _, ...rest } = route.query;
    const id = Array.isArray(ids) && ids.length ? ids[ids.length - 1] : null;
    router.replace({ query: id ? { ...rest, region_id: String(id) } : rest });
  }

  watch(
    () => route.query.region_id,
    async () => {
      ready.value = false;
      region.value = null;
      try {
        const s = await resolveRegion(route.query);
        me.value = s.me;
        region.value = s.region;
      } catch (err) {
        onError(err);
        return;
      } finally {
        ready.value = true;
      }
      await onChange(region.value);
    },
    { immediate: true },
  );

  return { me, region, ready, isAdmin, pathIds, choose };
}
