// The detail drawer of a record list (drop-offs, redemptions): the record
// read again when opened, its household beside it (name, balance now), and
// the undo (a drop-off's reversal, a redemption's void) that posts a reason.
import { ref } from 'vue';
import { api } from '../../api.js';

// path: the list's API path ('/v1/dropoffs'); rows: the list's items (a ref);
// errText: how a failure reads.
export function useRecordDrawer({ path, rows, errText }) {
  const drawer = ref(false);
  const detail = ref(null);
  const detailError = ref('');
  const household = ref(null);
  const householdError = ref('');
  const undoBusy = ref(false);
  const undoError = ref(null); // the error itself: its code is shown too
  const undoResult = ref(null);
  const reasonForm = ref(null); // the ReasonAction, emptied for each record

  function replaceRow(r) {
    const i = rows.value.findIndex((x) => x.id === r.id);
    if (i >= 0) rows.value.splice(i, 1, r);
  }

  // keep: leave the household shown (and no error) if it cannot be read again
  async function loadHousehold(id, keep = false) {
    if (!keep) household.value = null;
    householdError.value = '';
    try {
      const h = await api.get(`/v1/households/${id}`);
      if (detail.value && detail.value.household_id === h.id) household.value = h;
    } catch (err) {
      if (!keep) householdError.value = errText(err);
    }
  }

  async function refreshDetail(id) {
    try {
      const r = await api.get(`${path}/${id}`);
      if (detail.value && detail.value.id === r.id) detail.value = r;
      replaceRow(r);
    } catch (err) {
      detailError.value = errText(err);
    }
  }

  function openDetail(row) {
    detail.value = row;
    detailError.value = '';
    undoError.value = null;
    undoResult.value = null;
    if (reasonForm.value) reasonForm.value.clear();
    drawer.value = true;
    refreshDetail(row.id);
    loadHousehold(row.household_id);
  }

  // POST <path>/<id>/<action> {reason}; done(answer) after it went through.
  // Either way the record is read again (someone else may have undone it).
  async function undo(action, reason, done) {
    const d = detail.value;
    undoBusy.value = true;
    undoError.value = null;
    undoResult.value = null;
    try {
      const ans = await api.post(`${path}/${d.id}/${action}`, { reason });
      undoResult.value = ans;
      if (household.value && household.value.id === ans.household_id) household.value = { ...household.value, balance: ans.balance };
      if (done) done(ans);
    } catch (err) {
      undoError.value = err;
      // show the balance as it is now
      loadHousehold(d.household_id, true);
    } finally {
      undoBusy.value = false;
    }
    await refreshDetail(d.id);
  }

  return { drawer, detail, detailError, household, householdError, undoBusy, undoError, undoResult, reasonForm, openDetail, undo };
}
