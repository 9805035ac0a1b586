// The console's sections (issue 13), grouped as in the side menu; each
// with its view (lazy, so the first load carries only the shell).
// `admin: true` = shown to the admin only.
export const GROUPS = [
  { key: 'dashboard', items: [{ path: '/dashboard', key: 'dashboard', view: () => import('./views/Dashboard.vue') }] },
  {
    key: 'groupPeople',
    items: [
      { path: '/regions', key: 'regions', view: () => import('./views/Regions.vue') },
      { path: '/households', key: 'households', view: () => import('./views/Households.vue') },
      { path: '/import', key: 'import', view: () => import('./views/Import.vue') },
      { path: '/staff', key: 'staff', view: () => import('./views/Staff.vue') },
    ],
  },
  {
    key: 'groupChain',
    items: [
      { path: '/sites', key: 'sites', view: () => import('./views/Sites.vue') },
      { path: '/shipments', key: 'shipments', view: () => import('./views/Shipments.vue') },
    ],
  },
  {
    key: 'groupPoints',
    items: [
      { path: '/rates', key: 'rates', view: () => import('./views/Rates.vue') },
      { path: '/shops', key: 'shops', view: () => import('./views/Shops.vue') },
      { path: '/dropoffs', key: 'dropoffs', view: () => import('./views/Dropoffs.vue') },
      { path: '/redemptions', key: 'redemptions', view: () => import('./views/Redemptions.vue') },
    ],
  },
  {
    key: 'groupVillage',
    items: [{ path: '/inspections', key: 'inspections', view: () => import('./views/Inspections.vue') }],
  },
  {
    key: 'groupReports',
    items: [
      { path: '/reports', key: 'reports', view: () => import('./views/Reports.vue') },
      { path: '/ledger-check', key: 'ledgerCheck', admin: true, view: () => import('./views/LedgerCheck.vue') },
    ],
  },
];

export const SECTIONS = GROUPS.flatMap((g) => g.items);
