// The console's sections (issue 13), grouped as in the side menu.
// `admin: true` = shown to the admin only.
export const GROUPS = [
  { key: 'dashboard', items: [{ path: '/dashboard', key: 'dashboard' }] },
  {
    key: 'groupPeople',
    items: [
      { path: '/regions', key: 'regions' },
      { path: '/households', key: 'households' },
      { path: '/import', key: 'import' },
      { path: '/staff', key: 'staff' },
    ],
  },
  {
    key: 'groupChain',
    items: [
      { path: '/sites', key: 'sites' },
      { path: '/shipments', key: 'shipments' },
      { path: '/rates', key: 'rates' },
      { path: '/dropoffs', key: 'dropoffs' },
    ],
  },
  {
    key: 'groupPoints',
    items: [
      { path: '/shops', key: 'shops' },
      { path: '/redemptions', key: 'redemptions' },
    ],
  },
  {
    key: 'groupReports',
    items: [
      { path: '/inspections', key: 'inspections' },
      { path: '/reports', key: 'reports' },
      { path: '/ledger-check', key: 'ledgerCheck', admin: true },
    ],
  },
];

export const SECTIONS = GROUPS.flatMap((g) => g.items);
