// The region a section works on, kept in step with the route's ?region_id=
// (resolveRegion: else the caller's own region). Once the section's loaders
// exist, call onChange({ before, after }): `before` empties the section when
// the route's region changes, `after` loads it once the region is read;
// `topError` says why the region could not be read; `ready` is false while
// it is being read. setRegion(id) puts another region in the query (null:
// none), clearRegion() drops it.
import { ref, watch } from 'vue';
import { useRoute, useRouter } from 'vue-router';
import { resolveRegion } from '../scope.js';
import { dropQuery } from './query.js';

export function useRouteRegion(errText) {
  const route = useRoute();
  const router = useRouter();
  const me = ref(null);
  const region = ref(null);
  const topError = ref('');
  const ready = ref(false);

  function onChange({ before, after }) {
    watch(
      () => route.query.region_id,
      async () => {
        topError.value = '';
        region.value = null;
        ready.value = false;
        if (before) before();
        try {
          const s = await resolveRegion(route.query);
          me.value = s.me;
          region.value = s.region;
        } catch (err) {
          topError.value = errText(err);
          return;
        } finally {
          ready.value = true;
        }
        await after();
      },
      { immediate: true },
    );
  }

  const clearRegion = () => dropQuery(router, route, 'region_id');
  const setRegion = (id) => (id ? router.replace({ query: { ...route.query, region_id: String(id) } }) : clearRegion());

  return { me, region, topError, ready, onChange, clearRegion, setRegion };
}
