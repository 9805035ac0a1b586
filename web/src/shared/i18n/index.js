// vue-i18n setup shared by the apps: zh-CN first, English beside it.
// The choice is kept in localStorage (one for all apps of this origin).
import { createI18n } from 'vue-i18n';
import zhCN from './zh-CN.js';
import en from './en.js';
import { mergeMessages as merge } from './merge.js';

export const LOCALES = ['zh-CN', 'en'];
export const DEFAULT_LOCALE = 'zh-CN';
const KEY = 'wastebank.locale';

function savedLocale() {
  try {
    const v = window.localStorage.getItem(KEY);
    return LOCALES.includes(v) ? v : DEFAULT_LOCALE;
  } catch {
    return DEFAULT_LOCALE;
  }
}

const hooks = new Set();
let current = null;

// appMessages: { 'zh-CN': {...}, en: {...} }; titleKey: the message of document.title.
export function setupI18n(appMessages = {}, { titleKey } = {}) {
  const messages = {
    'zh-CN': merge(zhCN, appMessages['zh-CN']),
    en: merge(en, appMessages.en),
  };
  const i18n = createI18n({
    legacy: false,
    globalInjection: true,
    locale: savedLocale(),
    fallbackLocale: DEFAULT_LOCALE,
    messages,
    missingWarn: false,
    fallbackWarn: false,
  });
  const apply = (code) => {
    document.documentElement.lang = code;
    if (titleKey) document.title = i18n.global.t(titleKey);
    hooks.forEach((fn) => fn(code));
  };
  i18n.setLocale = (code) => {
    if (!LOCALES.includes(code)) return;
    i18n.global.locale.value = code;
    try {
      window.localStorage.setItem(KEY, code);
    } catch {
      // storage disabled: the choice lasts for this page only
    }
    apply(code);
  };
  i18n.onLocaleChange = (fn) => {
    hooks.add(fn);
    fn(i18n.global.locale.value);
    return () => hooks.delete(fn);
  };
  apply(i18n.global.locale.value);
  current = i18n;
  return i18n;
}

// For components (the locale switcher) and library hooks (Vant, Element Plus).
export function setLocale(code) {
  if (current) current.setLocale(code);
}

export function onLocaleChange(fn) {
  return current ? current.onLocaleChange(fn) : () => {};
}
