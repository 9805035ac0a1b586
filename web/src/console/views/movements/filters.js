// The record sections' filters live in the route's query: what a day and an
// id look like there, and whether a search asks for what is already shown.
export const DAY = /^\d{4}-\d{2}-\d{2}$/;
export const ID = /^[1-9]\d{0,17}$/;

export const queryString = (route, key) => (typeof route.query[key] === 'string' ? route.query[key] : '');

// q: the query a search would set ({key: value or undefined}); applied: the filters in force
export const sameFilters = (q, applied) => Object.entries(q).every(([k, v]) => String(applied[k] || '') === String(v || ''));

// a refusal (4xx) is not worth another try; a failure (network, 5xx) is
export const canRetry = (err) => !!err && !(err.status >= 400 && err.status < 500);
