// Small shared state of the station: the network state, and what is kept
// in localStorage for working offline (the attendant, the site, the
// categories). Cleared at sign-out.
import { ref } from 'vue';

const PREFIX = 'wastebank.station.cache.';
export const online = ref(typeof navigator === 'undefined' ? true : navigator.onLine !== false);
if (typeof window !== 'undefined') {
  window.addEventListener('online', () => (online.value = true));
  window.addEventListener('offline', () => (online.value = false));
}

export function cached(name) {
  try {
    const raw = window.localStorage.getItem(PREFIX + name);
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

export function keep(name, value) {
  try {
    window.localStorage.setItem(PREFIX + name, JSON.stringify(value));
  } catch {
    // storage full or disabled: kept for this page only
  }
  return value;
}

export function forgetCache() {
  for (const name of ['me', 'site', 'categories']) {
    try {
      window.localStorage.removeItem(PREFIX + name);
    } catch {
      // nothing kept
    }
  }
}

// A failure that leaves the outcome open: the request may or may not have
// been applied, so it is sent again with the same key.
export function outcomeOpen(err) {
  return !err || err.status === 0 || err.status >= 500;
}
