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
