import { reactive } from 'vue';
import { get } from './api';
import { level } from './format';

export const CHILD: Record<string, string> = { province: 'prefecture', prefecture: 'county', county: 'township', township: 'village' };

// Reactive, so that a name learned after a page rendered (breadcrumbs of a page opened by its
// address) shows where its code stood.
const names = reactive<Record<string, string>>(JSON.parse(sessionStorage.getItem('fupin.names') || '{}'));
export function rememberName(code: string, name: string) {
  if (!code || !name || names[code] === name) return;
  names[code] = name;
  sessionStorage.setItem('fupin.names', JSON.stringify(names));
}
export const nameOf = (code: string) => names[code] || code;

/** The region's ancestors from the user's own region down to it (codes). */
export function ancestors(code: string, top: string): string[] {
  const out: string[] = [];
  for (const n of [2, 4, 6, 9]) {
    const c = code.slice(0, n).padEnd(12, '0');
    if (c !== code && !out.includes(c) && rankOf(c) >= rankOf(top) && c.startsWith(top.slice(0, [2, 4, 6, 9, 12][rankOf(top)]))) out.push(c);
  }
  return out;
}
const RANK = { province: 0, prefecture: 1, county: 2, township: 3, village: 4 };
export const rankOf = (c: string) => RANK[level(c)];

export interface Summary {
  households: number | null; persons: number | null; poor_persons: number | null; exited_persons: number | null;
  returned_persons: number | null; monitored_persons: number | null; incidence: number | null; open_flags: number | null;
}

/** Key figures: the server's summary, or what by_status gives (and the open flag count) when it is absent. */
export async function summaryOf(region: any): Promise<Summary> {
  if (region.summary) return region.summary;
  const rows: any[] = region.by_status || [];
  const sum = (f: (r: any) => boolean, k: string) => rows.filter(f).reduce((a, r) => a + (Number(r[k]) || 0), 0);
  const live = (r: any) => r.status !== '9';
  const persons = sum(live, 'persons');
  const poor = sum((r) => r.status === '1' || r.status === '3', 'persons');
  let open: number | null = null;
  try {
    open = (await get('/flags', { state: 'open', region: region.code, limit: 1 })).total;
  } catch {
    open = null;
  }
  return {
    households: sum(live, 'households'), persons, poor_persons: poor,
    exited_persons: sum((r) => r.status === '2' || r.status === '4', 'persons'),
    returned_persons: sum((r) => r.status === '3', 'persons'), monitored_persons: null,
    incidence: persons ? poor / persons : null, open_flags: open,
  };
}
