// Formatting helpers. Times from the server are RFC 3339 in the server's
// time zone; they are shown as written (YYYY-MM-DD HH:mm), so a day on screen
// is the same day the server counts it in.

export function dateTime(s) {
  if (!s || typeof s !== 'string') return '';
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})/.exec(s);
  return m ? `${m[1]} ${m[2]}` : s;
}

export function day(s) {
  if (!s || typeof s !== 'string') return '';
  const m = /^(\d{4}-\d{2}-\d{2})/.exec(s);
  return m ? m[1] : s;
}

export function number(n, locale) {
  if (n === null || n === undefined || !Number.isFinite(Number(n))) return '';
  return new Intl.NumberFormat(locale).format(Number(n));
}

export function signed(n, locale) {
  const v = Number(n);
  if (!Number.isFinite(v)) return '';
  return (v > 0 ? '+' : v < 0 ? '−' : '') + number(Math.abs(v), locale);
}

export function percent(rate, locale) {
  if (rate === null || rate === undefined || !Number.isFinite(Number(rate))) return '';
  return new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 1 }).format(Number(rate));
}

// Strip control characters from free text (memos) before showing it.
export function plainText(s) {
  if (typeof s !== 'string') return '';
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f]/g, '').trim();
}
