// The life of a form in a dialog, as the catalogue's dialogs share it: on
// opening, the form is filled afresh and its errors cleared; saving
// validates, sends, and places a refusal on the field the server named (or
// above the form). Each dialog keeps only its fields, rules and request.
import { reactive, ref, watch } from 'vue';
import { useI18n } from 'vue-i18n';
import { placeError } from './fieldErrors.js';

// open: a getter of the dialog's v-model; fields: the field names the server
// may name; fill(): the form's values on opening; send(): the request (its
// answer is passed to done); `overrides`: error code -> message key;
// `placeAlso(err)`: a field name for a refusal without one (or null).
export function useFormDialog({ open, fields, fill, send, done, overrides = {}, placeAlso = null }) {
  const { t, te } = useI18n();
  const formRef = ref(null);
  const busy = ref(false);
  const formError = ref('');
  const fieldError = reactive({});
  const form = reactive(fill());

  function clearErrors() {
    formError.value = '';
    for (const f of fields) fieldError[f] = '';
  }

  watch(open, (isOpen) => {
    if (!isOpen) return;
    Object.assign(form, fill());
    clearErrors();
    if (formRef.value) formRef.value.clearValidate();
  });

  // before(): optional; false stops the save (nothing to send, or not confirmed)
  async function save(before) {
    clearErrors();
    try {
      await formRef.value.validate();
    } catch {
      return;
    }
    if (before && (await before()) === false) return;
    busy.value = true;
    try {
      done(await send());
    } catch (err) {
      const e = placeError(t, te, err, fields, overrides);
      const also = placeAlso && placeAlso(err);
      if (also) fieldError[also.field] = also.text;
      else if (e.field) fieldError[e.field] = e.text;
      else formError.value = e.text;
    } finally {
      busy.value = false;
    }
  }

  return { form, formRef, busy, formError, fieldError, save };
}

// A region outside reach (or gone) answers 404: it belongs to the region field.
export function regionNotFound(t) {
  return (err) => (err && err.code === 'not_found' ? { field: 'region_id', text: t('console.catalogue.regionNotFound') } : null);
}
