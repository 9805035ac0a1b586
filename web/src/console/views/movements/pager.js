// A cursor pager for the API's lists ({items, next_cursor}) whose filters
// change under it: a page that answers after the list was started anew
// (new filters) is dropped instead of landing in the new list.
import { ref } from 'vue';

export function useFilteredPager(fetchPage) {
  const items = ref([]);
  const loading = ref(false);
  const finished = ref(false);
  const error = ref(null);
  let cursor = null;
  let generation = 0;

  async function load(fresh) {
    if (fresh) {
      generation++;
      cursor = null;
      finished.value = false;
    } else if (finished.value || loading.value) {
      return;
    }
    const mine = generation;
    loading.value = true;
    error.value = null;
    try {
      const page = await fetchPage(cursor);
      if (mine !== generation) return;
      const got = page.items || [];
      items.value = fresh ? got : items.value.concat(got);
      cursor = page.next_cursor || null;
      finished.value = !cursor;
    } catch (err) {
      if (mine !== generation) return;
      if (fresh) items.value = [];
      error.value = err;
    } finally {
      if (mine === generation) loading.value = false;
    }
  }

  return { items, loading, finished, error, reload: () => load(true), more: () => load(false) };
}
