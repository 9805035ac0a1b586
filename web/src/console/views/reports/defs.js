// The reports of api.md ("Reports", and /v1/reports/accuracy): the
// parameters each takes, their checks before sending, the query of a
// report as the route keeps it, and the table's columns and rows. Pure
// (no ECharts, no requests): the Reports page and the dashboard share it.
import { number, percent } from '../../../shared/format.js';

export const KINDS = ['collection', 'participation', 'leaderboard', 'flows', 'points', 'accuracy'];
export const GROUPS = ['category', 'site', 'region', 'day', 'month'];
export const NETWORKS = ['sanitation', 'recycling', 'integrated'];
export const DISPOSITIONS = ['recycled', 'energy_recovery', 'landfill', 'hazardous_treatment'];
export const TIERS = ['dropoff', 'transfer', 'sorting'];
export const PERIOD_MAX_DAYS = 366;
export const MONTHS_MAX = 24;
export const LIMIT_MAX = 100;

// The parameters of each report (beside region_id), in the route query.
const PARAMS = {
  collection: ['group_by', 'from', 'to', 'category', 'site_id', 'network'],
  participation: ['month', 'from_month', 'to_month'],
  leaderboard: ['month', 'limit'],
  flows: ['from', 'to'],
  points: ['from', 'to'],
  accuracy: ['month'],
};

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

const pad = (n) => String(n).padStart(2, '0');
const dayText = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;

export function today() {
  return dayText(new Date());
}

export function monthOf(day) {
  return day.slice(0, 7);
}

// Days from 1970-01-01 of a YYYY-MM-DD (NaN when it is not a calendar day).
export function dayNumber(s) {
  if (typeof s !== 'string' || !DAY.test(s)) return NaN;
  const [y, m, d] = s.split('-').map(Number);
  const ms = Date.UTC(y, m - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== m - 1 || back.getUTCDate() !== d) return NaN;
  return ms / 86400000;
}

export function dayBefore(s) {
  const n = dayNumber(s);
  const d = new Date((n - 1) * 86400000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

export function lastDayOf(month) {
  const [y, m] = month.split('-').map(Number);
  return `${month}-${pad(new Date(Date.UTC(y, m, 0)).getUTCDate())}`;
}

const monthNumber = (s) => {
  if (typeof s !== 'string' || !MONTH.test(s)) return NaN;
  const [y, m] = s.split('-').map(Number);
  return y * 12 + m - 1;
};

// The form a route query describes, every parameter filled (defaults for
// what the query leaves out).
export function formFromQuery(q) {
  const str = (k) => (typeof q[k] === 'string' ? q[k] : '');
  const now = today();
  const range = !!(str('from_month') || str('to_month'));
  return {
    report: KINDS.includes(str('report')) ? str('report') : 'collection',
    group_by: str('group_by') || 'category',
    from: str('from') || `${monthOf(now)}-01`,
    to: str('to') || now,
    category: str('category'),
    site_id: str('site_id'),
    network: str('network'),
    pmode: range ? 'range' : 'month',
    month: str('month') || monthOf(now),
    from_month: str('from_month') || monthOf(now),
    to_month: str('to_month') || monthOf(now),
    limit: str('limit') || '10',
  };
}

// The parameters of the form's report, as sent (and kept in the route).
export function reportParams(form) {
  const out = {};
  for (const k of PARAMS[form.report]) {
    if (form.report === 'participation') {
      if (form.pmode === 'range' ? k === 'month' : k !== 'month') continue;
    }
    const v = form[k];
    if (v !== '' && v !== null && v !== undefined) out[k] = String(v);
  }
  return out;
}

// The route query of a form and region (null: the whole tree).
export function routeQuery(form, regionId) {
  return { report: form.report, ...(regionId ? { region_id: String(regionId) } : {}), ...reportParams(form) };
}

// The form's parameters that fail a check, as {field: [message key, params]}.
export function validate(form) {
  const e = {};
  const period = () => {
    const a = dayNumber(form.from);
    const b = dayNumber(form.to);
    if (!form.from) e.from = ['required', {}];
    else if (Number.isNaN(a)) e.from = ['badDay', {}];
    if (!form.to) e.to = ['required', {}];
    else if (Number.isNaN(b)) e.to = ['badDay', {}];
    if (e.from || e.to) return;
    if (a > b) e.from = ['fromAfterTo', {}];
    else if (b - a + 1 > PERIOD_MAX_DAYS) e.to = ['tooLong', { days: PERIOD_MAX_DAYS }];
  };
  const month = (k) => {
    if (!form[k]) e[k] = ['required', {}];
    else if (Number.isNaN(monthNumber(form[k]))) e[k] = ['badMonth', {}];
  };
  switch (form.report) {
    case 'collection':
      if (!GROUPS.includes(form.group_by)) e.group_by = ['badChoice', {}];
      if (form.network && !NETWORKS.includes(form.network)) e.network = ['badChoice', {}];
      if (form.site_id && !/^[1-9]\d{0,17}$/.test(form.site_id)) e.site_id = ['badChoice', {}];
      period();
      break;
    case 'flows':
    case 'points':
      period();
      break;
    case 'participation':
      if (form.pmode === 'range') {
        month('from_month');
        month('to_month');
        if (!e.from_month && !e.to_month) {
          const a = monthNumber(form.from_month);
          const b = monthNumber(form.to_month);
          if (a > b) e.from_month = ['fromAfterTo', {}];
          else if (b - a + 1 > MONTHS_MAX) e.to_month = ['tooManyMonths', { months: MONTHS_MAX }];
        }
      } else month('month');
      break;
    case 'leaderboard': {
      month('month');
      const n = Number(form.limit);
      if (!/^\d{1,3}$/.test(String(form.limit)) || n < 1 || n > LIMIT_MAX) e.limit = ['badLimit', { max: LIMIT_MAX }];
      break;
    }
    case 'accuracy':
      month('month');
      break;
    default:
      e.report = ['badChoice', {}];
  }
  return e;
}

// The period or month a report answered for, as text.
export function periodText(kind, body, query) {
  if (!body) return '';
  if (body.from && body.to) return `${body.from} ~ ${body.to}`;
  if (body.month) return body.month;
  if (query && query.from_month) return `${query.from_month} ~ ${query.to_month}`;
  return (query && query.month) || '';
}

// ---- tables

const get = (row, path) => path.split('.').reduce((o, k) => (o === null || o === undefined ? undefined : o[k]), row);

// Columns {key, label, value(row) → text, align, width, children?} and the
// rows (totals last, flagged _total) of a report's answer.
export function table(kind, body, ctx) {
  const { t, locale } = ctx;
  const L = (k) => t(`console.reports.col.${k}`);
  const num = (k, w) => ({ key: k, label: L(k.replace(/\./g, '_')), value: (r) => number(get(r, k), locale), align: 'right', width: w || 90 });
  const pct = (k, w) => ({ key: k, label: L(k), value: (r) => (get(r, k) === null || get(r, k) === undefined ? '—' : percent(get(r, k), locale)), align: 'right', width: w || 90 });
  const text = (k, w, value) => ({ key: k, label: L(k), value: value || ((r) => (get(r, k) === undefined || get(r, k) === null ? '' : String(get(r, k)))), width: w || 110 });
  const total = t('console.dashboard.total');
  const rows = (body && body.rows) || [];
  const totals = body && body.totals ? (Array.isArray(body.totals) ? body.totals : [body.totals]) : [];
  switch (kind) {
    case 'collection': {
      const g = body && body.group_by;
      const cols = [
        text('key', 110, (r) => (r._total ? total : String(r.key))),
        text('label', 150, (r) => (r._total ? '' : g === 'category' ? ctx.catName(r.key, r.label) : r.label)),
        num('dropoffs'),
        { key: 'grams', label: L('kg'), value: (r) => number(Number(r.grams || 0) / 1000, locale), align: 'right', width: 100 },
        num('items'),
        num('points'),
        num('households'),
      ];
      return { columns: cols, rows: [...rows, ...totals.map((x) => ({ ...x, _total: true }))] };
    }
    case 'participation': {
      const cols = [
        text('region_id', 90, (r) => (r._total ? total : String(r.region_id))),
        text('name', 150),
        text('month', 90),
        num('households'),
        num('active_households', 100),
        pct('rate'),
        num('by_dropoff', 100),
        num('by_inspection', 100),
      ];
      return { columns: cols, rows: [...rows, ...totals.map((x) => ({ ...x, _total: true }))] };
    }
    case 'leaderboard': {
      const cols = [
        text('rank', 70, (r) => (r._total ? total : String(r.rank))),
        text('household_id', 100, (r) => (r._total ? '' : String(r.household_id))),
        text('head_name_masked', 150),
        text('region_name', 150),
        num('points'),
        num('dropoffs'),
      ];
      // the listed households' sums (the answer has no totals of its own)
      const sum = rows.length
        ? [{ _total: true, head_name_masked: t('console.reports.listed', { n: rows.length }), region_name: '', points: rows.reduce((a, r) => a + Number(r.points || 0), 0), dropoffs: rows.reduce((a, r) => a + Number(r.dropoffs || 0), 0) }]
        : [];
      return { columns: cols, rows: [...rows, ...sum] };
    }
    case 'flows':
      return { columns: flowColumns(ctx), rows: flowRows(body) };
    case 'points': {
      const cols = [
        text('region_id', 90, (r) => (r._total ? total : String(r.region_id))),
        text('name', 150),
        { key: 'issued', label: L('issued'), children: ['dropoffs', 'adjustments', 'inspections'].map((k) => ({ ...num(`issued.${k}`), label: L(`issued_${k}`) })) },
        num('reversed'),
        num('redeemed'),
        num('voided'),
        num('recovered'),
        num('expired'),
        num('outstanding', 110),
      ];
      return { columns: cols, rows: [...rows, ...totals.map((x) => ({ ...x, _total: true }))] };
    }
    case 'accuracy': {
      const cols = [
        text('region_id', 90, (r) => (r._total ? total : String(r.region_id))),
        text('name', 150),
        num('households'),
        num('households_inspected', 110),
        pct('coverage'),
        num('inspections'),
        num('pass', 80),
        num('partial', 80),
        num('fail', 80),
        pct('accuracy'),
      ];
      return { columns: cols, rows: [...rows, ...totals.map((x) => ({ ...x, _total: true }))] };
    }
    default:
      return { columns: [], rows: [] };
  }
}

// A flows quantity in the row's unit: kilograms for grams, else items.
export function flowQty(row, v, locale) {
  if (v === null || v === undefined) return '';
  return number(row.unit === 'g' ? Number(v) / 1000 : Number(v), locale);
}

function flowColumns(ctx) {
  const { t, locale } = ctx;
  const L = (k) => t(`console.reports.col.${k}`);
  const q = (path, label, w) => ({ key: path, label, value: (r) => flowQty(r, get(r, path), locale), align: 'right', width: w || 90 });
  return [
    { key: 'category', label: L('category'), width: 140, fixed: true, value: (r) => (r._total ? t('console.reports.flowTotal') : ctx.catName(r.category, r.category)) },
    { key: 'unit', label: L('unit'), width: 70, value: (r) => t(r.unit === 'g' ? 'console.reports.unitKg' : 'console.reports.unitItem') },
    q('collected', L('collected')),
    q('reversed', L('reversed')),
    { key: 'shipped', label: L('shipped'), children: [q('shipped.from_dropoff', L('from_dropoff'), 100), q('shipped.from_transfer', L('from_transfer'), 100)] },
    { key: 'received', label: L('received'), children: [q('received.at_transfer', L('at_transfer'), 100), q('received.at_sorting', L('at_sorting'), 100)] },
    q('transit_loss', L('transit_loss')),
    q('in_transit', L('in_transit')),
    q('count_difference', L('count_difference'), 100),
    { key: 'outbound', label: L('outbound'), children: DISPOSITIONS.map((d) => q(`outbound.${d}`, t(`console.reports.disposition.${d}`), 100)) },
    { key: 'on_hand', label: L('on_hand'), children: TIERS.map((k) => q(`on_hand.${k}`, t(`console.reports.tier.${k}`), 90)) },
    { key: 'opening', label: L('opening'), children: [q('opening.on_hand', L('opening_on_hand'), 90), q('opening.in_transit', L('opening_in_transit'), 90)] },
    q('left_region', L('left_region'), 100),
    q('entered_region', L('entered_region'), 100),
    q('reversal_shortfall', L('reversal_shortfall'), 100),
    { key: 'balanced', label: L('balanced'), width: 80, value: (r) => t(r.balanced ? 'console.reports.yes' : 'console.reports.no') },
  ];
}

function flowRows(body) {
  if (!body) return [];
  const totals = (Array.isArray(body.totals) ? body.totals : []).filter((r) => hasFlow(r));
  return [...(body.rows || []), ...totals.map((x) => ({ ...x, _total: true }))];
}

// Whether anything moved in a flows row.
export function hasFlow(r) {
  const terms = [r.collected, r.reversed, r.transit_loss, r.in_transit, r.count_difference, r.left_region, r.entered_region];
  for (const o of [r.shipped, r.received, r.outbound, r.on_hand, r.opening]) if (o) terms.push(...Object.values(o));
  return terms.some((v) => Number(v || 0) !== 0);
}

// The CSV file name of a report.
export function csvName(kind, query) {
  const parts = [kind, query.region_id || 'all'];
  if (query.from) parts.push(query.from, query.to);
  else if (query.from_month) parts.push(query.from_month, query.to_month);
  else if (query.month) parts.push(query.month);
  return `${parts.join('_')}.csv`;
}
