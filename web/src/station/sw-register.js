// Register the station's service worker (built by vite-plugin-pwa into
// dist/station/sw.js; it precaches the station's index.html and the assets
// it loads, so the app opens with no network). A module, not an inline
// script: the CSP refuses inline scripts.
export function registerServiceWorker() {
  if (!import.meta.env.PROD || !('serviceWorker' in navigator)) return;
  // offline, the worker already installed serves the app; registering (an
  // update check) waits for the network
  if (navigator.onLine === false) {
    window.addEventListener('online', registerServiceWorker, { once: true });
    return;
  }
  const go = () =>
    navigator.serviceWorker.register('/station/sw.js', { scope: '/station/' }).catch(() => {
      // no service worker (private mode, http on a LAN address): online only
    });
  if (document.readyState === 'complete') go();
  else window.addEventListener('load', go, { once: true });
}
