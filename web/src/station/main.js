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
import { registerServiceWorker } from './sw-register.js';

const i18n = setupI18n({ 'zh-CN': messagesZh, en: messagesEn }, { titleKey: 'station.title' });
onLocaleChange((code) => (code === 'en' ? Locale.use('en-US', enUS) : Locale.use('zh-CN', zhCN)));

createApp(App).use(i18n).mount('#app');
registerServiceWorker();
