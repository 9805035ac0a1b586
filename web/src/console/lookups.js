// What the console's sections look up beside their own lists, cached per
// sign-in: the categories (names in both languages, unit) and whole lists
// read page by page (sites or shops for a filter, a level of regions).
import { api } from './api.js';

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

// GET /v1/categories once per sign-in: [{code, name, name_zh, unit, ...}]
// in the catalogue's order.
export function loadCategories() {
  if (!categories || owner !== api.token) {
    owner = api.token;
    categories = api.get('/v1/categories').then(
      (ans) => (Array.isArray(ans) ? ans : ans.items || []),
      (err) => {
        categories = null;
        throw err;
      },
    );
  }
  return categories;
}

function find(cats, code) {
  return (cats && cats.find((c) => c.code === code)) || null;
}

// The category's name in the shown language (its code when unknown).
export function categoryName(cats, code, locale) {
  const c = find(cats, code);
  if (!c) return code;
  return String(locale).startsWith('zh') ? c.name_zh || c.name || code : c.name || c.name_zh || code;
}

// The category's unit: 'g' or 'item' ('g' when unknown).
export function unitOf(cats, code) {
  const c = find(cats, code);
  return c ? c.unit : 'g';
}

// A weight in kilograms, up to the gram.
export function kg(grams, locale) {
  return new Intl.NumberFormat(locale, { maximumFractionDigits: 3 }).format(Number(grams || 0) / 1000);
}
