// One row of the flows report (a category, or a unit's total) as a Sankey
// graph through the three tiers:
//
//   households → drop-off sites → shipped from drop-off sites → transfer
//   stations → shipments to sorting → sorting centres → outbound (by
//   disposition)
//
// with what is on hand at each tier at the period's end, reversals, transit
// losses (or gains), what is still in transit, count differences and what
// crossed the region's border as nodes of their own.
//
// The report gives each term for the region as a whole; a tier's count
// difference is what its own balance leaves (its stock moves only by the
// events the report sums), and the opening stock per tier is the on-hand of
// the report for the day before the period (`opening`, null when the
// period opens with nothing on hand or in transit). Receipts at transfer
// stations all come from drop-off sites. The report does not say on which
// leg a loss happened: it is drawn on the drop-off sites' shipments first,
// as far as they came short of what the transfer stations received (the
// plainest reading: no shipment went straight to a sorting centre), and
// only the rest on the shipments to sorting centres; whatever else the
// drop-off sites shipped (straight to sorting centres, or still on the
// way) goes on with the transfer stations' shipments. Quantities are in
// the row's unit (grams or items); `scale` turns them into what is drawn
// (kg).
import { DISPOSITIONS, TIERS } from './defs.js';

const n = (v) => Number(v || 0);

export function needsOpening(row) {
  return !!row && (n(row.opening && row.opening.on_hand) !== 0 || n(row.opening && row.opening.in_transit) !== 0);
}

// → {nodes: [{key}], links: [{source, target, value, term}]} in base units
// (links of 0 left out; a negative term flows the other way).
export function flowGraph(row, opening) {
  const links = [];
  const link = (source, target, value, term) => {
    if (!value) return;
    if (value < 0) links.push({ source: target, target: source, value: -value, term });
    else links.push({ source, target, value, term });
  };
  const on = row.on_hand || {};
  const shipped = row.shipped || {};
  const received = row.received || {};
  const outbound = row.outbound || {};
  const open = { dropoff: 0, transfer: 0, sorting: 0 };
  if (opening && opening.on_hand) for (const k of TIERS) open[k] = n(opening.on_hand[k]);
  const openTransit = n(row.opening && row.opening.in_transit);
  const outTotal = DISPOSITIONS.reduce((a, d) => a + n(outbound[d]), 0);

  // drop-off sites
  link('households', 'dropoff', n(row.collected), 'collected');
  link('open_dropoff', 'dropoff', open.dropoff, 'opening.dropoff');
  link('dropoff', 'reversed', n(row.reversed), 'reversed');
  link('dropoff', 't1', n(shipped.from_dropoff), 'shipped.from_dropoff');
  link('dropoff', 'on_dropoff', n(on.dropoff), 'on_hand.dropoff');
  const cd = {
    dropoff: open.dropoff + n(row.collected) - n(row.reversed) - n(shipped.from_dropoff) - n(on.dropoff),
    transfer: open.transfer + n(received.at_transfer) - n(shipped.from_transfer) - n(on.transfer),
    sorting: open.sorting + n(received.at_sorting) - outTotal - n(on.sorting),
  };

  // shipments: gains join where shipments start, losses leave at the end
  const loss = n(row.transit_loss);
  let gain = Math.max(0, -loss);
  let lost = Math.max(0, loss);
  let onward = openTransit + n(row.entered_region) + gain + n(shipped.from_dropoff) - n(received.at_transfer);
  if (onward < 0) {
    // more arrived at transfer stations than drop-off shipments carried in
    // net: a gain on those legs, offset by losses on the others
    gain -= onward;
    lost -= onward;
    onward = 0;
  }
  const lostFirst = Math.min(lost, onward);
  onward -= lostFirst;
  lost -= lostFirst;
  link('open_transit', 't1', openTransit, 'opening.in_transit');
  link('entered', 't1', n(row.entered_region), 'entered_region');
  link('gain', 't1', gain, 'transit_gain');
  link('t1', 'transfer', n(received.at_transfer), 'received.at_transfer');
  link('t1', 'loss', lostFirst, 'transit_loss');
  link('t1', 't2', onward, 'onward');

  // transfer stations
  link('open_transfer', 'transfer', open.transfer, 'opening.transfer');
  link('transfer', 't2', n(shipped.from_transfer), 'shipped.from_transfer');
  link('transfer', 'on_transfer', n(on.transfer), 'on_hand.transfer');

  link('t2', 'sorting', n(received.at_sorting), 'received.at_sorting');
  link('t2', 'loss', lost, 'transit_loss');
  link('t2', 'in_transit', n(row.in_transit), 'in_transit');
  link('t2', 'left', n(row.left_region), 'left_region');

  // sorting centres
  link('open_sorting', 'sorting', open.sorting, 'opening.sorting');
  for (const d of DISPOSITIONS) link('sorting', `out_${d}`, n(outbound[d]), `outbound.${d}`);
  link('sorting', 'on_sorting', n(on.sorting), 'on_hand.sorting');

  // count differences: found missing (a sink) or found over (a source)
  for (const k of TIERS) {
    if (cd[k] > 0) link(k, 'count_short', cd[k], 'count_difference');
    else if (cd[k] < 0) link('count_over', k, -cd[k], 'count_difference');
  }

  const seen = new Set();
  for (const l of links) seen.add(l.source).add(l.target);
  const ORDER = [
    'households', 'open_dropoff', 'count_over', 'open_transit', 'entered', 'gain', 'open_transfer', 'open_sorting',
    'dropoff', 'reversed', 'on_dropoff', 't1', 'transfer', 'on_transfer', 't2', 'loss', 'in_transit', 'left',
    'sorting', ...DISPOSITIONS.map((d) => `out_${d}`), 'on_sorting', 'count_short',
  ];
  return { nodes: ORDER.filter((k) => seen.has(k)).map((key) => ({ key })), links };
}

// What entered and what is accounted for, for the balance line (base units).
export function balanceSides(row) {
  const o = row.opening || {};
  const on = row.on_hand || {};
  const out = row.outbound || {};
  const into = n(o.on_hand) + n(o.in_transit) + n(row.collected) - n(row.reversed) + n(row.entered_region);
  const acc =
    TIERS.reduce((a, k) => a + n(on[k]), 0) +
    n(row.in_transit) +
    n(row.transit_loss) +
    DISPOSITIONS.reduce((a, d) => a + n(out[d]), 0) +
    n(row.count_difference) +
    n(row.left_region);
  return { into, accounted: acc };
}
