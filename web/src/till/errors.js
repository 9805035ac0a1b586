// Error sentences of the till: the shared ones (src/shared/errors.js), with
// the codes of a redemption or a void worded for the clerk, and the details
// of the error body as parameters ({attempts} left of a wrong PIN, {minutes}
// of a lock, the {balance} that fell short, the {item} out of stock).
const CODES = [
  'bad_pin',
  'pin_locked',
  'pin_not_set',
  'unknown_code',
  'unknown_pay_code',
  'not_found',
  'household_inactive',
  'item_inactive',
  'out_of_stock',
  'insufficient_points',
  'already_voided',
  'month_settled',
  'forbidden',
  'idempotency_conflict',
  'invalid_request',
  'unavailable',
];

export function tillError(t, te, err, { context = 'redeem', itemName = null } = {}) {
  if (!err) return '';
  const code = err.code || 'unknown';
  const d = err.details || {};
  const secs = Number.isFinite(err.retryAfter) ? err.retryAfter : Number.isFinite(d.retry_after) ? d.retry_after : null;
  const params = {
    code,
    seconds: secs,
    minutes: secs === null ? null : Math.max(1, Math.ceil(secs / 60)),
    attempts: Number.isFinite(d.attempts_left) ? d.attempts_left : null,
    balance: Number.isFinite(d.balance) ? d.balance : null,
    item: itemName || (Number.isFinite(d.item_id) ? '#' + d.item_id : ''),
    field: err.field || '',
  };
  const keys = [];
  if (CODES.includes(code)) {
    const base = `till.errors.${context}.${code}`;
    const shared = `till.errors.${code}`;
    for (const k of [base, shared]) {
      if (params.minutes === null && code === 'pin_locked') keys.push(k + '_plain');
      if (params.attempts === null && code === 'bad_pin') keys.push(k + '_plain');
      if (params.balance === null && code === 'insufficient_points') keys.push(k + '_plain');
      keys.push(k);
    }
  }
  const plain = (code === 'rate_limited' || code === 'pin_locked') && secs === null;
  if (plain) keys.push(`errors.${code}_plain`);
  keys.push(`errors.${code}`);
  for (const key of keys) if (te(key)) return t(key, params);
  return t('errors.unknown', params);
}
