// What the record sections (drop-offs, redemptions) look up beside their
// lists: the categories (names in both languages, unit), and the sites or
// shops within reach (for the filters and to name a row's site or shop).
import { api } from '../../api.js';

// Every page of a list, up to `max` rows (a county has tens of sites; a
// province-wide admin may have more, and the filter lists the first `max`).
export async function listAll(path, query = {}, max = 2000) {
  const out = [];
  let cursor = null;
  do {
    const page = await api.get(path, { query: { ...query, limit: 500, cursor } });
    const items = Array.isArray(page) ? page : page.items || [];
    out.push(...items);
    cursor = Array.isArray(page) ? null : page.next_cursor || null;
  } while (cursor && out.length < max);
  return { items: out.slice(0, max), truncated: !!cursor };
}

let categories = null;
let owner = null;

// GET /v1/categories once per sign-in: code → {code, name, name_zh, unit}.
export function loadCategories() {
  if (!categories || owner !== api.token) {
    owner = api.token;
    categories = api
      .get('/v1/categories')
      .then((ans) => {
        const list = Array.isArray(ans) ? ans : ans.items || [];
        return Object.fromEntries(list.map((c) => [c.code, c]));
      })
      .catch((err) => {
        categories = null;
        throw err;
      });
  }
  return categories;
}

// The category's name in the shown language (its code when unknown).
export function categoryName(cats, code, locale) {
  const c = cats && cats[code];
  if (!c) return code;
  return locale === 'en' ? c.name || c.name_zh || code : c.name_zh || c.name || code;
}

// A weight in kilograms, up to the gram.
export function kg(grams, locale) {
  return new Intl.NumberFormat(locale, { maximumFractionDigits: 3 }).format(Number(grams || 0) / 1000);
}
