// The JSON API of `fupin serve`, same origin, cookie session; every write sends X-CSRF-Token.
import { reactive } from 'vue';

export interface Me {
  username: string;
  role: 'admin' | 'official' | 'cadre' | 'department' | 'auditor';
  region: string;
  region_name: string;
  datasets: string[];
  permissions?: string[];
  csrf_token?: string;
}

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
  ) {
    super(message);
  }
}

const CSRF_KEY = 'fupin.csrf';
export const session = reactive<{ me: Me | null; csrf: string }>({
  me: null,
  csrf: sessionStorage.getItem(CSRF_KEY) || '',
});

function setCsrf(t: string) {
  session.csrf = t;
  if (t) sessionStorage.setItem(CSRF_KEY, t);
  else sessionStorage.removeItem(CSRF_KEY);
}

export type Params = Record<string, string | number | boolean | undefined | null | string[]>;

export function qs(params?: Params): string {
  if (!params) return '';
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => x !== '' && u.append(k, x));
    else u.append(k, String(v));
  }
  const s = u.toString();
  return s ? '?' + s : '';
}

async function handle<T>(r: Response): Promise<T> {
  if (r.ok) {
    const ct = r.headers.get('content-type') || '';
    return (ct.includes('json') ? await r.json() : await r.text()) as T;
  }
  let code = String(r.status);
  let message = r.statusText;
  try {
    const j = await r.json();
    if (j && j.error) {
      code = j.error.code || code;
      message = j.error.message || message;
    }
  } catch {
    /* not JSON */
  }
  if (r.status === 401 && session.me) {
    session.me = null;
    setCsrf('');
    onUnauthorized?.();
  }
  throw new ApiError(r.status, code, message);
}

let onUnauthorized: (() => void) | undefined;
export function setUnauthorizedHandler(f: () => void) {
  onUnauthorized = f;
}

export async function get<T = any>(path: string, params?: Params): Promise<T> {
  const r = await fetch('/api' + path + qs(params), { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  return handle<T>(r);
}

export async function send<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { 'X-CSRF-Token': session.csrf, Accept: 'application/json' };
  let payload: BodyInit | undefined;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const r = await fetch('/api' + path, { method, credentials: 'same-origin', headers, body: payload });
  return handle<T>(r);
}

export async function login(username: string, password: string): Promise<Me> {
  const r = await send<{ csrf_token: string; user: Me }>('POST', '/login', { username, password });
  setCsrf(r.csrf_token);
  session.me = r.user;
  return r.user;
}

export async function loadMe(): Promise<Me | null> {
  try {
    const me = await get<Me>('/me');
    if (me.csrf_token) setCsrf(me.csrf_token);
    session.me = me;
    return me;
  } catch (e) {
    session.me = null;
    return null;
  }
}

export async function logout() {
  try {
    await send('POST', '/logout');
  } catch {
    /* the session may already be gone */
  }
  session.me = null;
  setCsrf('');
}

/** Downloads a file from the API (a report, an Excel export) and hands it to the browser. */
export async function download(path: string, params: Params, fallbackName: string): Promise<void> {
  const r = await fetch('/api' + path + qs(params), { credentials: 'same-origin' });
  if (!r.ok) await handle(r);
  const blob = await r.blob();
  const cd = r.headers.get('content-disposition') || '';
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(cd);
  const name = m ? decodeURIComponent(m[1]) : fallbackName;
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export const ALL_PAGES = [
  'overview', 'bigscreen', 'regions', 'villages', 'households', 'flags',
  'exchange', 'reports', 'queries', 'jobs', 'users', 'audit',
] as const;
export type PageKey = (typeof ALL_PAGES)[number];

const ROLE_PAGES: Record<string, PageKey[]> = {
  admin: [...ALL_PAGES],
  official: ['overview', 'bigscreen', 'regions', 'villages', 'households', 'flags', 'reports', 'queries'],
  cadre: ['overview', 'regions', 'villages', 'households', 'flags'],
  department: ['overview', 'exchange', 'reports'],
  auditor: ['overview', 'regions', 'villages', 'households', 'flags', 'reports', 'queries', 'audit', 'jobs'],
};

/** The pages the signed-in user may open: the server's list, or the role's table when absent. */
export function permissions(me: Me | null): PageKey[] {
  if (!me) return [];
  if (Array.isArray(me.permissions)) return ALL_PAGES.filter((p) => me.permissions!.includes(p));
  return ROLE_PAGES[me.role] || ['overview'];
}

export function can(page: PageKey): boolean {
  return permissions(session.me).includes(page);
}
