// A detail drawer kept in the route's query (?<key>=<id>), so that a link or
// a reload opens it again: `openId` is the id asked for, `drawer` follows it,
// open(id) adds it to the query and closed() (the drawer's @closed) drops it.
import { computed, ref, watch } from 'vue';
import { useRoute, useRouter } from 'vue-router';
import { dropQuery } from './query.js';

export function useQueryDrawer(key) {
  const route = useRoute();
  const router = useRouter();
  const openId = computed(() => {
    const n = Number(route.query[key]);
    return Number.isInteger(n) && n > 0 ? n : null;
  });
  const drawer = ref(false);
  watch(openId, (id) => (drawer.value = !!id), { immediate: true });

  const open = (id) => router.push({ query: { ...route.query, [key]: id } });
  function closed() {
    if (route.query[key]) dropQuery(router, route, key);
  }

  return { openId, drawer, open, closed };
}
