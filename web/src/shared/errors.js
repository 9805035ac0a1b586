// Turn an ApiError (src/shared/api.js) into a sentence from the messages.
// `overrides` maps an error code to a message key of the app, for codes whose
// meaning depends on the screen (bad_credentials at the resident sign-in).
export function errorText(t, te, err, overrides = {}) {
  if (!err) return '';
  const code = err.code || 'unknown';
  const secs = Number.isFinite(err.retryAfter) ? err.retryAfter : null;
  const params = {
    code,
    seconds: secs,
    minutes: secs === null ? null : Math.max(1, Math.ceil(secs / 60)),
    attempts: err.details && Number.isFinite(err.details.attempts_left) ? err.details.attempts_left : null,
    field: err.field || '',
  };
  const base = overrides[code] || `errors.${code}`;
  const plain = (code === 'rate_limited' || code === 'pin_locked') && secs === null;
  const keys = plain ? [base + '_plain', `errors.${code}_plain`] : [];
  keys.push(base, `errors.${code}`);
  for (const key of keys) if (te(key)) return t(key, params);
  return t('errors.unknown', params);
}
