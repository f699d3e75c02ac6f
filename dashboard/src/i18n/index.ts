import dayjs from 'dayjs';
import 'dayjs/locale/zh-cn';
import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';
import { en } from './en';
import { supervisionEn } from './supervision.en';
import { supervisionZh } from './supervision.zh-CN';
import { zhCN } from './zh-CN';

export const LANGUAGES = ['zh-CN', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];
const KEY = 'ccm.language';

export function initialLanguage(): Language {
  const stored = localStorage.getItem(KEY);
  return stored === 'en' ? 'en' : 'zh-CN';
}

void i18n.use(initReactI18next).init({
  resources: {
    'zh-CN': {
      translation: {
        ...zhCN,
        nav: { ...zhCN.nav, ...supervisionZh.nav },
        supervision: supervisionZh,
      },
    },
    en: {
      translation: { ...en, nav: { ...en.nav, ...supervisionEn.nav }, supervision: supervisionEn },
    },
  },
  lng: initialLanguage(),
  fallbackLng: 'zh-CN',
  interpolation: { escapeValue: false },
  returnNull: false,
  showSupportNotice: false,
});
dayjs.locale(initialLanguage() === 'en' ? 'en' : 'zh-cn');

export function setLanguage(lng: Language) {
  localStorage.setItem(KEY, lng);
  dayjs.locale(lng === 'en' ? 'en' : 'zh-cn');
  document.documentElement.lang = lng;
  return i18n.changeLanguage(lng);
}

/** A duration in words ("5 分钟" / "5 min"), largest unit only. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return i18n.t('time.seconds', { count: s });
  if (s < 3600) return i18n.t('time.minutes', { count: Math.round(s / 60) });
  if (s < 86_400) return i18n.t('time.hours', { count: Math.round(s / 360) / 10 });
  return i18n.t('time.days', { count: Math.round(s / 8640) / 10 });
}

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return i18n.t('devices.never');
  const ms = now - new Date(iso).getTime();
  if (ms < 10_000) return i18n.t('time.justNow');
  return i18n.t('time.ago', { duration: duration(ms) });
}

export default i18n;
