import { i18n } from './i18n';

const loc = () => (i18n.global.locale.value === 'en' ? 'en-US' : 'zh-CN');

export function num(v: unknown, digits = 0): string {
  if (v === null || v === undefined || v === '' || Number.isNaN(Number(v))) return '—';
  return new Intl.NumberFormat(loc(), { maximumFractionDigits: digits, minimumFractionDigits: 0 }).format(Number(v));
}
export function pct(v: unknown, digits = 1): string {
  if (v === null || v === undefined || v === '' || Number.isNaN(Number(v))) return '—';
  return new Intl.NumberFormat(loc(), { style: 'percent', maximumFractionDigits: digits }).format(Number(v));
}
export function money(v: unknown): string {
  if (v === null || v === undefined || v === '' || Number.isNaN(Number(v))) return '—';
  return new Intl.NumberFormat(loc(), { style: 'currency', currency: 'CNY', maximumFractionDigits: 0 }).format(Number(v));
}
export function date(v: unknown): string {
  if (!v) return '—';
  const d = new Date(String(v).replace(' ', 'T'));
  if (Number.isNaN(d.getTime())) return String(v);
  return new Intl.DateTimeFormat(loc(), { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}
/** 12-digit region code → its level. */
export function level(code: string): 'province' | 'prefecture' | 'county' | 'township' | 'village' {
  if (/0{10}$/.test(code)) return 'province';
  if (/0{8}$/.test(code)) return 'prefecture';
  if (/0{6}$/.test(code)) return 'county';
  if (/0{3}$/.test(code)) return 'township';
  return 'village';
}
