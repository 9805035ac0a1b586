// Deep merge of message trees: objects merge key by key, anything else in
// `extra` replaces what `base` had. Pure (the i18n check imports it in Node).
function isObject(v) {
  return v && typeof v === 'object' && !Array.isArray(v);
}

export function mergeMessages(base, ...extras) {
  let out = { ...base };
  for (const extra of extras) {
    for (const [k, v] of Object.entries(extra || {})) {
      out[k] = isObject(v) && isObject(out[k]) ? mergeMessages(out[k], v) : v;
    }
  }
  return out;
}
