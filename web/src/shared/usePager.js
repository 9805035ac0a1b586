// A cursor pager for the API's lists: {items, next_cursor}.
import { ref } from 'vue';

export function usePager(fetchPage) {
  const items = ref([]);
  const loading = ref(false);
  const finished = ref(false);
  const error = ref(null);
  let cursor = null;

  async function more() {
    if (finished.value) return;
    loading.value = true;
    error.value = null;
    try {
      const page = await fetchPage(cursor);
      items.value.push(...(page.items || []));
      cursor = page.next_cursor || null;
      finished.value = !cursor;
      return page;
    } catch (err) {
      error.value = err;
      return null;
    } finally {
      loading.value = false;
    }
  }

  function reset() {
    items.value = [];
    cursor = null;
    finished.value = false;
    error.value = null;
  }

  return { items, loading, finished, error, more, reset };
}
