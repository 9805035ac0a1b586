// One Vite project, four apps (a multi-page build): each app has its
// index.html under <app>/ and its code under src/<app>/; all hashed assets go
// to dist/assets/. The server (wastebankd) serves dist/ at /console/,
// /station/, /till/, /me/ and /assets/.
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';
import Components from 'unplugin-vue-components/vite';
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers';
import { VantResolver } from '@vant/auto-import-resolver';
import vantIconFont from './build/vant-icon-font.js';
import { VitePWA } from 'vite-plugin-pwa';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import stationZh from './src/station/locales/zh-CN.js';
import sharedZh from './src/shared/i18n/zh-CN.js';

const root = fileURLToPath(new URL('.', import.meta.url));
export const APPS = ['console', 'station', 'till', 'me'];
const api = process.env.WB_API || 'http://127.0.0.1:8080';

export default defineConfig({
  root,
  base: '/',
  publicDir: false,
  plugins: [
    vantIconFont({ root }),
    vue(),
    // Element Plus and Vant components are imported where a template uses
    // them (with their CSS), so each app carries only what it shows.
    Components({
      dirs: [],
      dts: false,
      resolvers: [ElementPlusResolver({ importStyle: 'css' }), VantResolver()],
    }),
    stationManifest(),
    stationServiceWorker(),
  ],
  define: {
    __VUE_OPTIONS_API__: 'true',
    __VUE_PROD_DEVTOOLS__: 'false',
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
    __VUE_I18N_FULL_INSTALL__: 'true',
    __VUE_I18N_LEGACY_API__: 'false',
    __INTLIFY_PROD_DEVTOOLS__: 'false',
    __INTLIFY_JIT_COMPILATION__: 'true',
    __INTLIFY_DROP_MESSAGE_COMPILER__: 'false',
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2020',
    // no inline data: URIs for fonts or images (a strict CSP serves them from 'self')
    assetsInlineLimit: 0,
    cssCodeSplit: true,
    reportCompressedSize: true,
    chunkSizeWarningLimit: 600,
    rollupOptions: {
      input: Object.fromEntries(APPS.map((a) => [a, resolve(root, a, 'index.html')])),
      output: {
        entryFileNames: 'assets/[name]-[hash].js',
        chunkFileNames: 'assets/[name]-[hash].js',
        assetFileNames: 'assets/[name]-[hash][extname]',
        // Vue, vue-i18n and their parts in one chunk that every app shares.
        manualChunks(id) {
          if (/[\\/]node_modules[\\/](?:vue|@vue|vue-i18n|@intlify)[\\/]/.test(id)) return 'vue';
          return undefined;
        },
      },
    },
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    strictPort: true,
    proxy: {
      '/v1': { target: api, changeOrigin: false },
      '/healthz': { target: api },
      '/readyz': { target: api },
    },
  },
  preview: {
    host: '127.0.0.1',
    port: 4173,
    proxy: {
      '/v1': { target: api, changeOrigin: false },
    },
  },
});

// The station's web app manifest (installable as an app):
// dist/station/manifest.webmanifest, linked from station/index.html, with
// its icons as hashed assets. The icons are PNG files drawn from
// src/shared/icon.svg by station/icons/render.mjs (committed: the build
// needs no browser); icon.svg.sha256 beside them names the SVG they were
// drawn from, and a build whose icon.svg differs stops.
const STATION_THEME = '#07813c'; // --wb-green, the theme-color of index.html
const STATION_BACKGROUND = '#f3f5f7'; // the page background of the mobile apps
const STATION_ICONS = [
  { file: 'icon-192.png', size: 192, purpose: 'any' },
  { file: 'icon-512.png', size: 512, purpose: 'any' },
  { file: 'maskable-192.png', size: 192, purpose: 'maskable' },
  { file: 'maskable-512.png', size: 512, purpose: 'maskable' },
];

function pngSize(buf) {
  const sig = '89504e470d0a1a0a';
  if (buf.subarray(0, 8).toString('hex') !== sig || buf.subarray(12, 16).toString() !== 'IHDR') return null;
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

function stationManifestJson(iconUrl) {
  return {
    id: '/station/',
    name: `${sharedZh.common.productName}·${stationZh.station.title}`,
    short_name: stationZh.station.title,
    lang: 'zh-CN',
    dir: 'ltr',
    start_url: '/station/',
    scope: '/station/',
    display: 'standalone',
    theme_color: STATION_THEME,
    background_color: STATION_BACKGROUND,
    icons: STATION_ICONS.map((i) => ({ src: iconUrl(i), sizes: `${i.size}x${i.size}`, type: 'image/png', purpose: i.purpose })),
  };
}

function stationManifest() {
  const dir = resolve(root, 'station/icons');
  const icons = () => {
    const svg = readFileSync(resolve(root, 'src/shared/icon.svg'));
    const drawnFrom = readFileSync(resolve(dir, 'icon.svg.sha256'), 'utf8').trim();
    if (createHash('sha256').update(svg).digest('hex') !== drawnFrom)
      throw new Error('web/station/icons are older than src/shared/icon.svg: run node web/station/icons/render.mjs');
    return STATION_ICONS.map((i) => {
      const source = readFileSync(resolve(dir, i.file));
      const got = pngSize(source);
      if (!got || got.width !== i.size || got.height !== i.size) throw new Error(`web/station/icons/${i.file}: not a ${i.size}x${i.size} PNG`);
      return { ...i, source };
    });
  };
  const json = (iconUrl) => JSON.stringify(stationManifestJson(iconUrl), null, 2) + '\n';
  return {
    name: 'wastebank-station-manifest',
    // vite dev: the manifest names the icons where they are
    configureServer(server) {
      server.middlewares.use('/station/manifest.webmanifest', (req, res) => {
        res.setHeader('Content-Type', 'application/manifest+json');
        res.end(json((i) => `/station/icons/${i.file}`));
      });
    },
    generateBundle() {
      const refs = icons().map((i) => ({ ...i, ref: this.emitFile({ type: 'asset', name: i.file, source: i.source }) }));
      const url = new Map(refs.map((i) => [i.file, '/' + this.getFileName(i.ref)]));
      this.emitFile({ type: 'asset', fileName: 'station/manifest.webmanifest', source: json((i) => url.get(i.file)) });
    },
  };
}

// The station's service worker (offline use): dist/station/sw.js, scope
// /station/, registered by src/station/sw-register.js (a module: no inline
// script under the CSP). It precaches station/index.html and only the assets
// the station can load: those its index.html names and, transitively, those
// named inside them (chunks, CSS, fonts, the QR worker, the web app manifest
// and its icons), not the other apps'.
function stationServiceWorker() {
  const dist = resolve(root, 'dist');
  const reachable = (entries) => {
    const byName = new Map(entries.map((e) => [e.url.split('/').pop(), e]));
    const seen = new Set(['station/index.html']);
    const todo = ['station/index.html'];
    while (todo.length) {
      const url = todo.pop();
      if (!/\.(html|js|css|webmanifest)$/.test(url)) continue;
      const text = readFileSync(resolve(dist, url), 'utf8');
      for (const [name, e] of byName) {
        if (!seen.has(e.url) && text.includes(name)) {
          seen.add(e.url);
          todo.push(e.url);
        }
      }
    }
    return entries.filter((e) => seen.has(e.url)).map((e) => ({ ...e, url: '/' + e.url }));
  };
  return VitePWA({
    strategies: 'generateSW',
    injectRegister: false,
    manifest: false,
    filename: 'station/sw.js',
    scope: '/station/',
    workbox: {
      globDirectory: dist,
      globPatterns: ['station/index.html', 'station/manifest.webmanifest', 'assets/**/*.{js,css,woff2,woff,ttf,svg,png}'],
      maximumFileSizeToCacheInBytes: 8 * 1024 * 1024,
      manifestTransforms: [async (entries) => ({ manifest: reachable(entries), warnings: [] })],
      navigateFallback: '/station/index.html',
      navigateFallbackAllowlist: [/^\/station\//],
      inlineWorkboxRuntime: true,
      skipWaiting: true,
      clientsClaim: true,
      cleanupOutdatedCaches: true,
      sourcemap: false,
    },
  });
}
