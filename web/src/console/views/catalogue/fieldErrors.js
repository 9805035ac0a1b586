// A refusal shown where it belongs: on the form field the server named
// (400 invalid_request with `field`, a 409 conflict on a field), else above
// the form. Every text comes from the messages; the server's own message is
// added to the generic "invalid" text, since it says what the rule is.
import { errorText } from '../../../shared/errors.js';

// err: an ApiError. fields: the form's field names. overrides: error code ->
// message key (as errorText). Returns { field, text } (field null: the form).
export function placeError(t, te, err, fields, overrides = {}) {
  const base = errorText(t, te, err, overrides);
  const field = err && err.field && fields.includes(err.field) ? err.field : null;
  if (err && err.code === 'invalid_request' && err.message)
    return { field, text: t('console.catalogue.invalidField', { message: err.message }) };
  return { field, text: base };
}
