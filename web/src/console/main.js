import { createApp } from 'vue';
import './console.css';
import { setupI18n } from '../shared/i18n/index.js';
import messagesZh from './locales/zh-CN.js';
import messagesEn from './locales/en.js';
import App from './App.vue';
import { router } from './router.js';
import { api } from './api.js';

const i18n = setupI18n({ 'zh-CN': messagesZh, en: messagesEn }, { titleKey: 'console.title' });

api.onUnauthorized(() => {
  api.forget();
  router.replace({ name: 'login', query: { expired: '1' } });
});

createApp(App).use(i18n).use(router).mount('#app');
