// The text of an API failure in a console section: errorText() with the
// section's own messages for some codes (`overrides`), and a refused field
// (invalid_request) as "Not accepted (field): message" under `fieldKey`
// (none: errorText's own text).
import { useI18n } from 'vue-i18n';
import { errorText } from '../../shared/errors.js';

export function useErrText(fieldKey, overrides) {
  const { t, te } = useI18n();
  return (err) => {
    const base = errorText(t, te, err, overrides);
    if (fieldKey && err && err.code === 'invalid_request' && (err.field || err.message)) return t(fieldKey, { field: err.field || '—', message: err.message || base });
    return base;
  };
}
