// Error sentences of the station: the shared ones, with the codes that
// matter here (a refused drop-off or shipment) worded for the attendant.
import { errorText } from '../shared/errors.js';

const CODES = [
  'household_inactive',
  'unknown_code',
  'not_found',
  'invalid_request',
  'idempotency_conflict',
  'insufficient_stock',
  'wrong_tier',
  'already_received',
  'conflict',
];
const OVERRIDES = Object.fromEntries(CODES.map((c) => [c, `station.errors.${c}`]));

export function stationError(t, te, err) {
  return errorText(t, te, err, OVERRIDES);
}

// A refusal stored in the queue's log ({code, field, message}).
export function refusalText(t, te, e) {
  return stationError(t, te, { code: e.code, field: e.field, details: {} });
}
