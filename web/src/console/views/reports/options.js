// The chart of each report (ECharts options, built from the answer; the
// flows report draws its Sankey in FlowsSankey.vue). null: nothing to draw.
// Series carry an `id` so that what they draw can be read back.

const kg = (g) => Number(g || 0) / 1000;
const pct = (r) => (r === null || r === undefined ? null : Math.round(Number(r) * 10000) / 100);

function base(palette) {
  return {
    color: palette,
    // drawn on the canvas: no HTML (and no inline style for the CSP)
    tooltip: { trigger: 'axis', renderMode: 'richText' },
    legend: { type: 'scroll', top: 0 },
    grid: { left: 64, right: 64, top: 44, bottom: 40, containLabel: true },
    animation: false,
  };
}

// Bars no wider than this, and visible points on lines, however few the rows.
function tidy(opt) {
  if (opt && Array.isArray(opt.series))
    for (const s of opt.series) {
      if (s.type === 'bar' && s.barMaxWidth === undefined) s.barMaxWidth = 48;
      if (s.type === 'line' && s.symbolSize === undefined) s.symbolSize = 8;
    }
  return opt;
}

export function chartOption(kind, body, ctx) {
  return tidy(build(kind, body, ctx));
}

function build(kind, body, ctx) {
  const { t, palette } = ctx;
  const rows = (body && body.rows) || [];
  if (!rows.length) return null;
  const L = (k) => t(`console.reports.col.${k}`);
  switch (kind) {
    case 'collection':
      return collection(body, rows, ctx);
    case 'participation': {
      const months = [...new Set(rows.map((r) => r.month))].sort();
      if (months.length <= 1) {
        return {
          ...base(palette),
          xAxis: { type: 'category', data: rows.map((r) => r.name), axisLabel: { interval: 0, rotate: rows.length > 6 ? 30 : 0 } },
          yAxis: [{ type: 'value', name: L('households') }, { type: 'value', name: t('console.reports.ratePct'), max: 100 }],
          series: [
            { id: 'households', name: L('households'), type: 'bar', data: rows.map((r) => Number(r.households)) },
            { id: 'active', name: L('active_households'), type: 'bar', data: rows.map((r) => Number(r.active_households)) },
            { id: 'rate', name: t('console.reports.ratePct'), type: 'line', yAxisIndex: 1, data: rows.map((r) => pct(r.rate)) },
          ],
        };
      }
      // a line of the rate per region over the months, and the total's
      const regions = [];
      for (const r of rows) if (!regions.find((x) => x.id === r.region_id)) regions.push({ id: r.region_id, name: r.name });
      const byKey = new Map(rows.map((r) => [`${r.region_id}|${r.month}`, r]));
      const totals = Array.isArray(body.totals) ? body.totals : [];
      const byMonth = new Map(totals.map((r) => [r.month, r]));
      return {
        ...base(palette),
        xAxis: { type: 'category', data: months },
        yAxis: { type: 'value', name: t('console.reports.ratePct'), max: 100 },
        series: [
          ...regions.map((g) => ({ id: `r${g.id}`, name: g.name, type: 'line', data: months.map((m) => (byKey.has(`${g.id}|${m}`) ? pct(byKey.get(`${g.id}|${m}`).rate) : null)) })),
          { id: 'total', name: t('console.dashboard.total'), type: 'line', lineStyle: { width: 4 }, data: months.map((m) => (byMonth.has(m) ? pct(byMonth.get(m).rate) : null)) },
        ],
      };
    }
    case 'leaderboard': {
      const list = rows.slice().reverse(); // the first at the top
      return {
        ...base(palette),
        legend: { show: false },
        grid: { left: 24, right: 48, top: 16, bottom: 24, containLabel: true },
        xAxis: { type: 'value', name: L('points') },
        yAxis: { type: 'category', data: list.map((r) => `${r.rank}. ${r.head_name_masked}`) },
        series: [{ id: 'points', name: L('points'), type: 'bar', data: list.map((r) => Number(r.points)), label: { show: true, position: 'right' } }],
      };
    }
    case 'points': {
      const names = rows.map((r) => r.name);
      const issued = (k) => rows.map((r) => Number((r.issued || {})[k] || 0));
      return {
        ...base(palette),
        xAxis: { type: 'category', data: names, axisLabel: { interval: 0, rotate: rows.length > 6 ? 30 : 0 } },
        yAxis: { type: 'value', name: L('points') },
        series: [
          { id: 'issued_dropoffs', name: L('issued_dropoffs'), type: 'bar', stack: 'issued', data: issued('dropoffs') },
          { id: 'issued_adjustments', name: L('issued_adjustments'), type: 'bar', stack: 'issued', data: issued('adjustments') },
          { id: 'issued_inspections', name: L('issued_inspections'), type: 'bar', stack: 'issued', data: issued('inspections') },
          { id: 'redeemed', name: L('redeemed'), type: 'bar', data: rows.map((r) => Number(r.redeemed || 0)) },
          { id: 'reversed', name: L('reversed'), type: 'bar', data: rows.map((r) => Number(r.reversed || 0)) },
          { id: 'expired', name: L('expired'), type: 'bar', data: rows.map((r) => Number(r.expired || 0)) },
          { id: 'outstanding', name: L('outstanding'), type: 'line', data: rows.map((r) => Number(r.outstanding || 0)) },
        ],
      };
    }
    case 'accuracy': {
      const names = rows.map((r) => r.name);
      return {
        ...base(palette),
        xAxis: { type: 'category', data: names, axisLabel: { interval: 0, rotate: rows.length > 6 ? 30 : 0 } },
        yAxis: [{ type: 'value', name: L('inspections') }, { type: 'value', name: '%', max: 100 }],
        series: [
          { id: 'pass', name: L('pass'), type: 'bar', stack: 'n', data: rows.map((r) => Number(r.pass || 0)), itemStyle: { color: '#07813c' } },
          { id: 'partial', name: L('partial'), type: 'bar', stack: 'n', data: rows.map((r) => Number(r.partial || 0)), itemStyle: { color: '#c9a227' } },
          { id: 'fail', name: L('fail'), type: 'bar', stack: 'n', data: rows.map((r) => Number(r.fail || 0)), itemStyle: { color: '#e4572e' } },
          { id: 'coverage', name: t('console.reports.coveragePct'), type: 'line', yAxisIndex: 1, itemStyle: { color: '#f28f43' }, data: rows.map((r) => pct(r.coverage)) },
          { id: 'accuracy', name: t('console.reports.accuracyPct'), type: 'line', yAxisIndex: 1, itemStyle: { color: '#2f7ed8' }, data: rows.map((r) => pct(r.accuracy)) },
        ],
      };
    }
    default:
      return null;
  }
}

function collection(body, rows, ctx) {
  const { t, palette, catName } = ctx;
  const L = (k) => t(`console.reports.col.${k}`);
  const g = body.group_by;
  if (g === 'category') {
    // shares: the weighed categories by kilograms, the counted by items
    const weighed = rows.filter((r) => Number(r.grams) > 0);
    const counted = rows.filter((r) => Number(r.items) > 0);
    const both = weighed.length && counted.length;
    const pie = (id, list, value, name, center) => ({
      id,
      name,
      type: 'pie',
      radius: ['30%', '62%'],
      center,
      label: { formatter: '{b}\n{d}%' },
      data: list.map((r) => ({ name: catName(r.key, r.label), key: r.key, value: value(r) })),
    });
    const series = [];
    const titles = [];
    if (weighed.length) {
      series.push(pie('kg', weighed, (r) => kg(r.grams), L('kg'), [both ? '27%' : '50%', '56%']));
      titles.push({ text: L('kg'), left: both ? '27%' : '50%', top: 4, textAlign: 'center', textStyle: { fontSize: 13 } });
    }
    if (counted.length) {
      series.push(pie('items', counted, (r) => Number(r.items), L('items'), [both ? '73%' : '50%', '56%']));
      titles.push({ text: L('items'), left: both ? '73%' : '50%', top: 4, textAlign: 'center', textStyle: { fontSize: 13 } });
    }
    return { color: palette, title: titles, tooltip: { trigger: 'item', renderMode: 'richText' }, animation: false, series };
  }
  const line = g === 'day' || g === 'month';
  const x = rows.map((r) => (line ? String(r.key) : r.label || String(r.key)));
  const anyItems = rows.some((r) => Number(r.items) > 0);
  const series = [
    { id: 'kg', name: L('kg'), type: line ? 'line' : 'bar', data: rows.map((r) => kg(r.grams)) },
    { id: 'dropoffs', name: L('dropoffs'), type: line ? 'line' : 'bar', yAxisIndex: 1, data: rows.map((r) => Number(r.dropoffs)) },
  ];
  if (anyItems) series.push({ id: 'items', name: L('items'), type: line ? 'line' : 'bar', yAxisIndex: 1, data: rows.map((r) => Number(r.items)) });
  return {
    ...base(palette),
    xAxis: { type: 'category', data: x, axisLabel: { interval: line ? 'auto' : 0, rotate: !line && rows.length > 6 ? 30 : 0 } },
    yAxis: [{ type: 'value', name: L('kg') }, { type: 'value', name: t('console.reports.countAxis') }],
    series,
  };
}
