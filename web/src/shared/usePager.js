// A cursor pager for the API's lists ({items, next_cursor}), for every app.
// more() adds the next page; reload() starts the list anew (new filters) and
// replaces it when the first page answers; reset() empties it at once.
// A page that answers after the list was started anew is dropped instead of
// landing in the new list.
import { ref } from 'vue';

export function usePager(fetchPage) {
  const items = ref([]);
  const loading = ref(false);
  const finished = ref(false);
  const error = ref(null);
  let cursor = null;
  let generation = 0;
  let inFlight = false; // not `loading`: a Vant list sets that itself before asking for more

  async function load(fresh) {
    if (fresh) {
      generation++;
      cursor = null;
      finished.value = false;
    } else if (finished.value || inFlight) {
      return null;
    }
    const mine = generation;
    inFlight = true;
    loading.value = true;
    error.value = null;
    try {
      const page = await fetchPage(cursor);
      if (mine !== generation) return null;
      const got = page.items || [];
      items.value = fresh ? got : items.value.concat(got);
      cursor = page.next_cursor || null;
      finished.value = !cursor;
      return page;
    } catch (err) {
      if (mine !== generation) return null;
      if (fresh) items.value = [];
      error.value = err;
      return null;
    } finally {
      if (mine === generation) {
        inFlight = false;
        loading.value = false;
      }
    }
  }

  function reset() {
    generation++;
    inFlight = false;
    items.value = [];
    cursor = null;
    finished.value = false;
    loading.value = false;
    error.value = null;
  }

  return { items, loading, finished, error, more: () => load(false), reload: () => load(true), reset };
}
