import { createApp } from 'vue';
import { Locale } from 'vant';
import enUS from 'vant/es/locale/lang/en-US';
import zhCN from 'vant/es/locale/lang/zh-CN';
import 'vant/es/style/base.css';
import '../shared/mobile/theme.css';
import { setupI18n, onLocaleChange } from '../shared/i18n/index.js';
import messagesZh from './locales/zh-CN.js';
import messagesEn from './locales/en.js';
import App from './App.vue';
import { router } from './router.js';
import { api } from './api.js';

const i18n = setupI18n({ 'zh-CN': messagesZh, en: messagesEn }, { titleKey: 'me.title' });
onLocaleChange((code) => (code === 'en' ? Locale.use('en-US', enUS) : Locale.use('zh-CN', zhCN)));

// A token the server refuses (expired, signed out elsewhere): back to sign-in.
api.onUnauthorized(() => {
  api.forget();
  router.replace({ name: 'login', query: { expired: '1' } });
});

createApp(App).use(i18n).use(router).mount('#app');
