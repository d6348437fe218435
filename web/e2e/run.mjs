#!/usr/bin/env node
// Browser tests of the web app against the real server on a generated province.
//   node web/e2e/run.mjs --fupin PATH_TO_FUPIN [--keep DIR] [--chromium /usr/bin/chromium] [--only NAME]
// Generates a small province, imports, links, runs the rules, adds one user per role, serves it with
// `fupin serve --web web/dist` on a free loopback port, drives Debian's chromium through playwright-core,
// stops the server, prints a summary and exits non-zero on any failure. Screenshots go to docs/screenshots/.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const webDir = resolve(here, '..');
const repo = resolve(webDir, '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf('--' + name);
  return i >= 0 ? args[i + 1] : def;
};
const base = process.env.INIT_CWD || process.cwd(); // npm run sets the cwd to web/: paths are the caller's
const fupin = opt('fupin') && resolve(base, opt('fupin'));
if (!fupin || !existsSync(fupin)) {
  console.error('usage: node web/e2e/run.mjs --fupin PATH_TO_FUPIN_BINARY [--keep DIR]');
  process.exit(2);
}
const chromiumPath = opt('chromium', process.env.CHROMIUM || '/usr/bin/chromium');
const only = opt('only');
const keep = opt('keep');
const work = keep ? resolve(base, keep) : mkdtempSync(join(tmpdir(), 'fupin-e2e-'));
mkdirSync(work, { recursive: true });
const dist = join(webDir, 'dist');
if (!existsSync(join(dist, 'index.html'))) {
  console.error(`${dist}/index.html is missing: run npm --prefix web run build first`);
  process.exit(2);
}
const shots = join(repo, 'docs', 'screenshots');
mkdirSync(shots, { recursive: true });

function run(cmdArgs, input) {
  const r = spawnSync(fupin, cmdArgs, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  if (r.status !== 0 && !(cmdArgs[0] === 'import' && r.status === 3)) {
    throw new Error(`fupin ${cmdArgs.join(' ')} exited ${r.status}: ${r.stderr}`);
  }
  return r.stdout;
}

// ---- the province -------------------------------------------------------------------------------
const db = join(work, 'fupin.db');
const batch = join(work, 'batch');
const PASSWORD = 'e2e-pass-phrase-2026';
if (!existsSync(db)) {
  console.log(`generating a province in ${work}`);
  run(['gen', '--scale', '0.001', '--seed', '7', '--out', batch]);
  run(['import', batch, '--db', db, '--quiet']);
  run(['link', '--db', db]);
  run(['rules', 'run', '--db', db]);
}
function csv(file) {
  const [head, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  const cols = head.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
}
const households = csv(join(batch, 'households.csv'));
const byVillage = new Map();
for (const h of households) byVillage.set(h.village_code, [...(byVillage.get(h.village_code) || []), h]);
// the village with the most households (ties: the smallest code) is the cadre's
const village = [...byVillage.entries()].sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]))[0][0];
const prefecture = village.slice(0, 4) + '00000000';
const county = village.slice(0, 6) + '000000';
const township = village.slice(0, 9) + '000';
const inVillage = byVillage.get(village)[0].household_id;
const outside = households.find((h) => !h.village_code.startsWith(village.slice(0, 6))).household_id;
const USERS = [
  ['e2e_admin', 'admin', '520000000000'],
  ['e2e_official', 'official', prefecture],
  ['e2e_cadre', 'cadre', village],
  ['e2e_dept', 'department', '520000000000', 'health_claims'],
  ['e2e_auditor', 'auditor', '520000000000'],
];
const existing = run(['user', 'list', '--db', db]);
for (const [name, role, region, dept] of USERS) {
  if (existing.includes(name)) continue;
  const a = ['user', 'add', name, '--role', role, '--region', region, '--password-stdin', '--db', db];
  if (dept) a.push('--department', dept);
  run(a, PASSWORD + '\n');
}

// ---- the server ---------------------------------------------------------------------------------
const port = await new Promise((res) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => res(p));
  });
});
const origin = `http://127.0.0.1:${port}`;
const server = spawn(fupin, ['serve', '--db', db, '--listen', `127.0.0.1:${port}`, '--web', dist], { stdio: ['ignore', 'pipe', 'pipe'] });
let serverLog = '';
server.stdout.on('data', (d) => (serverLog += d));
server.stderr.on('data', (d) => (serverLog += d));
// The server must live through every test: if it ends, say how, with the end of its log.
let serverEnd = null;
const serverExited = new Promise((r) => server.once('exit', (code, signal) => {
  serverEnd = { code, signal };
  r();
}));
for (let i = 0; ; i++) {
  try {
    if ((await fetch(origin + '/healthz')).ok) break;
  } catch {
    /* not yet */
  }
  if (i > 150 || server.exitCode !== null) {
    console.error('the server did not start:\n' + serverLog);
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 200));
}
console.log(`fupin serve on ${origin} (village ${village}, prefecture ${prefecture})`);

const browser = await chromium.launch({
  executablePath: chromiumPath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const axeSource = readFileSync(join(webDir, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

// ---- harness ------------------------------------------------------------------------------------
const results = [];
const ROLE_PAGES = {
  admin: ['overview', 'bigscreen', 'regions', 'villages', 'households', 'flags', 'exchange', 'reports', 'queries', 'jobs', 'users', 'audit'],
  official: ['overview', 'bigscreen', 'regions', 'villages', 'households', 'flags', 'reports', 'queries'],
  cadre: ['overview', 'regions', 'villages', 'households', 'flags'],
  department: ['overview', 'exchange', 'reports'],
  auditor: ['overview', 'regions', 'villages', 'households', 'flags', 'reports', 'queries', 'audit', 'jobs'],
};
const ALL = ROLE_PAGES.admin;

/** A browser context that records console errors, failed requests and any request leaving the origin. */
async function open(viewport = { width: 1440, height: 900 }) {
  const ctx = await browser.newContext({ viewport, acceptDownloads: true, locale: 'zh-CN' });
  const page = await ctx.newPage();
  const problems = [];
  const allowed = []; // [status, url substring] pairs a test expects
  page.allowed = allowed;
  if (args.includes('--allow-pending')) allowed.push([400, 'by=income_band'], [404, '/favicon.ico']); // a 404 page has no icon link
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    const at = m.location()?.url || '';
    if (allowed.some(([s, u]) => text.includes(`status of ${s}`) && at.includes(u))) return;
    problems.push('console error: ' + text + (at ? ' at ' + at : ''));
  });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('request', (r) => {
    const u = r.url();
    if (u.startsWith('data:') || u.startsWith('blob:')) return;
    if (!u.startsWith(origin + '/')) problems.push('request leaving the origin: ' + u);
  });
  page.on('requestfailed', (r) => {
    const f = r.failure()?.errorText || '';
    if (f.includes('ERR_ABORTED') && r.url().includes('/api/')) return; // navigation away from a pending fetch
    problems.push(`request failed: ${r.url()} ${f}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !allowed.some(([s, u]) => r.status() === s && r.url().includes(u))) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  return { ctx, page, problems, allow: (status, url) => allowed.push([status, url]) };
}

// The server serves index.html for every path of the app (history mode). Without that fallback a deep
// link answers 404: a failure, unless --allow-pending (then the app is entered at / and routed).
// --allow-pending also lets the query dimension income_band answer 400 (a server not yet extended).
const allowNoFallback = args.includes('--allow-pending');
let fallbackMissing = false;
async function go(page, path) {
  if (allowNoFallback && path !== '/') page.allowed.push([404, origin + path]);
  const r = await page.goto(origin + path);
  if (r && r.status() === 404 && path !== '/') {
    fallbackMissing = true;
    if (!allowNoFallback) throw new Error(`GET ${path} answered 404: the server has no history-mode fallback to index.html`);
    await page.goto(origin + '/');
    await page.waitForFunction(() => document.querySelector('#app')?.children.length);
    await page.evaluate((p) => {
      history.pushState({}, '', p);
      dispatchEvent(new PopStateEvent('popstate'));
    }, path);
  }
}

/** An Element Plus input by its data-testid (on the wrapper or on the input itself). */
const field = (page, id) => page.locator(`[data-testid="${id}"] input, input[data-testid="${id}"]`).first();

async function login(page, user) {
  await go(page, '/login');
  await field(page, 'login-user').fill(user);
  await field(page, 'login-password').fill(PASSWORD);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('menu').waitFor();
}

async function idle(page) {
  await page.waitForLoadState('networkidle');
  await page.waitForTimeout(300); // charts finish their animation frame
}

async function axe(page, name) {
  await page.evaluate(axeSource);
  const r = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const out = await axe.run(document, { resultTypes: ['violations'] });
    return out.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  const bad = r.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length) throw new Error(`axe on ${name}: ` + bad.map((v) => `${v.id} (${v.impact}: ${v.help}) at ${v.nodes.join(', ')}`).join('; '));
}

async function shot(page, name) {
  await page.screenshot({ path: join(shots, name + '.png'), fullPage: false });
}

async function test(name, fn, viewport) {
  if (only && !name.includes(only)) return;
  const t0 = Date.now();
  const h = await open(viewport);
  let error = null;
  try {
    await fn(h);
    await idle(h.page);
  } catch (e) {
    error = e;
  }
  if (!error && h.problems.length) error = new Error(h.problems.join('\n    '));
  await h.ctx.close();
  results.push({ name, ok: !error, ms: Date.now() - t0, error: error ? String(error.stack || error).split('\n').slice(0, 6).join('\n    ') : '' });
  console.log(`${error ? 'FAIL' : 'ok  '} ${name} (${Date.now() - t0} ms)${error ? '\n    ' + results.at(-1).error : ''}`);
}
const expect = (cond, msg) => {
  if (!cond) throw new Error(msg);
};

// ---- tests --------------------------------------------------------------------------------------
for (const [user, role] of USERS) {
  await test(`${role} sees exactly its menu`, async ({ page }) => {
    await login(page, user);
    const me = await page.evaluate(() => fetch('/api/me').then((r) => r.json()));
    const want = Array.isArray(me.permissions) ? ALL.filter((p) => me.permissions.includes(p)) : ROLE_PAGES[role];
    const got = await page.locator('[data-testid^="menu-"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-testid').slice(5)));
    const items = got.filter((x) => x !== 'toggle');
    expect(JSON.stringify(items) === JSON.stringify(want), `menu ${items} != ${want}`);
    const who = await page.getByTestId('whoami').innerText();
    expect(who.includes(user) && who.includes(me.region_name), `the header shows "${who}"`);
    await idle(page);
  });
}

await test('drill down province → prefecture → county → township → village → household', async ({ page }) => {
  await login(page, 'e2e_admin');
  await go(page, '/overview');
  await page.locator('[data-testid="region-map"][data-drawn="1"]').waitFor();
  await idle(page);
  await shot(page, 'overview');
  await axe(page, 'overview');
  for (const c of [prefecture, county, township]) {
    await page.getByTestId('child-' + c).click();
    await page.waitForURL('**/regions/' + c);
    await page.getByTestId('region-name').filter({ hasText: /\S/ }).waitFor();
    await page.getByTestId('child-' + (c === prefecture ? county : c === county ? township : village)).waitFor();
  }
  await idle(page);
  await shot(page, 'region');
  await axe(page, 'region');
  {
    // The same page opened by its address in a new tab (nothing remembered): the breadcrumbs
    // still name the regions above it, not their codes.
    const tab = await page.context().newPage();
    await tab.goto(page.url());
    await tab.getByTestId('child-' + village).waitFor();
    const text = await tab.getByTestId('breadcrumbs').innerText();
    expect(!/\d{12}/.test(text) && text.split('/').length >= 3, 'breadcrumbs of a page opened by address: ' + text);
    await tab.close();
  }
  await page.getByTestId('child-' + village).click();
  await page.waitForURL('**/villages/' + village);
  await page.getByTestId('village-households').waitFor();
  await idle(page);
  await shot(page, 'village');
  await axe(page, 'village');
  const crumbs = await page.getByTestId('breadcrumbs').innerText();
  expect(crumbs.split('/').length >= 4, 'breadcrumbs: ' + crumbs);
  {
    const tab = await page.context().newPage();
    await tab.goto(page.url());
    await tab.getByTestId('village-households').waitFor();
    const text = await tab.getByTestId('breadcrumbs').innerText();
    expect(!/\d{12}/.test(text) && text.split('/').length >= 4, 'breadcrumbs of a village opened by address: ' + text);
    await tab.close();
  }
  await page.getByTestId('hh-' + inVillage).click();
  await page.waitForURL('**/households/' + inVillage);
  await page.getByTestId('members').locator('tbody tr').first().waitFor();
  expect((await page.getByTestId('mask-state').innerText()).length > 0, 'mask state shown');
  const ids = await page.getByTestId('members').locator('tbody').innerText();
  expect(ids.includes('*'), 'ID numbers are masked by default');
  await idle(page);
  await shot(page, 'household');
  await axe(page, 'household');
});

await test('a cadre cannot open a household outside their village', async ({ page, allow }) => {
  allow(403, '/api/households/' + outside);
  await login(page, 'e2e_cadre');
  const resp = page.waitForResponse((r) => r.url().includes('/api/households/' + outside));
  await go(page, '/households/' + outside);
  expect((await resp).status() === 403, 'the API answered 403');
  const msg = await page.getByTestId('error-message').innerText();
  expect(msg.includes('403') || msg.includes('无权'), 'the page says: ' + msg);
  // the cadre's own household opens
  await go(page, '/households/' + inVillage);
  await page.getByTestId('members').locator('tbody tr').first().waitFor();
});

await test('verify a flag; it shows as verified after reload', async ({ page }) => {
  await login(page, 'e2e_official');
  await go(page, '/flags');
  const first = page.locator('[data-testid^="verify-"]').first();
  await first.waitFor();
  await idle(page);
  await shot(page, 'flags');
  await axe(page, 'flags');
  const id = (await first.getAttribute('data-testid')).slice('verify-'.length);
  await first.click();
  await page.locator('.el-message-box input').fill('e2e 核实：入户核查属实');
  await page.locator('.el-message-box .el-button--primary').click();
  await page.getByTestId('verify-' + id).waitFor({ state: 'detached' });
  await go(page, '/flags?state=verified');
  const tag = page.getByTestId('flag-state-' + id);
  await tag.waitFor();
  const label = await tag.innerText();
  expect(label.includes('核实') || label.toLowerCase().includes('verified'), 'state after reload: ' + label);
  const api = await page.evaluate((i) => fetch('/api/flags/' + i).then((r) => r.json()), id);
  expect(api.state === 'verified', 'the API says ' + api.state);
});

await test('upload a file with a bad row and see that row’s error', async ({ page }) => {
  await login(page, 'e2e_dept');
  await go(page, '/exchange');
  await idle(page);
  const lines = readFileSync(join(batch, 'health_claims.csv'), 'utf8').trim().split('\n');
  const bad = lines[3].split(',');
  bad[6] = '2019-13-45'; // admit_date: no such month
  bad[5] = 'JSE2E' + Date.now(); // a claim of its own, so that a second run imports something new too
  const body = [lines[0], lines[1], lines[2], bad.join(','), lines[4]].join('\n') + '\n';
  await page.getByTestId('upload-input').setInputFiles({ name: 'health_claims.csv', mimeType: 'text/csv', buffer: Buffer.from(body) });
  await page.getByTestId('upload-start').click();
  await page.getByTestId('issues-table').waitFor({ timeout: 60000 });
  const row = page.getByTestId('issue-row-3'); // the third data row (rows count from the first after the header)
  await row.waitFor();
  const text = await page.getByTestId('issues-table').innerText();
  expect(text.includes('2019-13-45'), 'the report shows the bad value: ' + text.slice(0, 400));
  await idle(page);
  await shot(page, 'exchange');
  await axe(page, 'exchange');
});

async function checkDownload(page, testid, kind) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()]);
  const file = join(work, 'dl-' + kind);
  await dl.saveAs(file);
  const b = readFileSync(file);
  if (kind === 'pdf') {
    expect(b.subarray(0, 5).toString() === '%PDF-', 'not a PDF');
    return;
  }
  expect(b[0] === 0x50 && b[1] === 0x4b, 'not a zip (PK) file');
  // read the zip's central directory; find a worksheet and inflate it
  const eocd = b.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  let p = b.readUInt32LE(eocd + 16);
  const n = b.readUInt16LE(eocd + 10);
  let sheet = null;
  for (let i = 0; i < n; i++) {
    const method = b.readUInt16LE(p + 10);
    const size = b.readUInt32LE(p + 20);
    const nameLen = b.readUInt16LE(p + 28);
    const extra = b.readUInt16LE(p + 30);
    const comment = b.readUInt16LE(p + 32);
    const local = b.readUInt32LE(p + 42);
    const name = b.subarray(p + 46, p + 46 + nameLen).toString();
    if (/^xl\/worksheets\/sheet\d+\.xml$/.test(name) && !sheet) {
      const start = local + 30 + b.readUInt16LE(local + 26) + b.readUInt16LE(local + 28);
      const data = b.subarray(start, start + size);
      sheet = (method === 8 ? inflateRawSync(data) : data).toString('utf8');
    }
    p += 46 + nameLen + extra + comment;
  }
  expect(sheet && sheet.includes('<sheetData') && sheet.includes('<row'), 'the XLSX has no worksheet with rows');
}

await test('download a report (XLSX and PDF) and open it', async ({ page }) => {
  await login(page, 'e2e_official');
  await go(page, '/reports');
  await page.getByTestId('report-xlsx').waitFor();
  await idle(page);
  await shot(page, 'reports');
  await axe(page, 'reports');
  await checkDownload(page, 'report-xlsx', 'xlsx');
  await checkDownload(page, 'report-pdf', 'pdf');
});

await test('queries: table, chart', async ({ page }) => {
  await login(page, 'e2e_admin');
  await go(page, '/queries');
  await page.getByTestId('q-run').click();
  await page.getByTestId('q-table').locator('tbody tr').first().waitFor();
  await page.locator('[data-testid="q-chart"][data-drawn="1"]').waitFor();
  await idle(page);
  await shot(page, 'queries');
  await axe(page, 'queries');
});

await test('big screen at 1920×1080', async ({ page }) => {
  await login(page, 'e2e_official');
  await go(page, '/bigscreen');
  await page.locator('[data-testid="region-map"][data-drawn="1"]').waitFor();
  await idle(page);
  await shot(page, 'bigscreen');
  await axe(page, 'bigscreen');
}, { width: 1920, height: 1080 });

await test('switch to English', async ({ page }) => {
  await login(page, 'e2e_admin');
  await go(page, '/overview');
  await page.getByTestId('lang-switch').click();
  await page.getByTestId('menu-overview').filter({ hasText: 'Overview' }).waitFor();
  const role = await page.getByTestId('whoami-role').innerText();
  expect(role === 'Administrator', 'role in English: ' + role);
  await go(page, '/flags');
  await page.getByTestId('menu-flags').filter({ hasText: 'Flags' }).waitFor();
  const n = await page.getByTestId('flags-table').locator('tbody tr').count();
  expect(n >= 0, 'flags table');
  expect((await page.getByTestId('flags-search').innerText()) === 'Search', 'the flags page is in English');
});

await test('the phone (390×844): a cadre’s households, a household, an update', async ({ page }) => {
  await login(page, 'e2e_cadre');
  await page.waitForURL('**/households');
  await page.getByTestId('hh-' + inVillage).waitFor();
  await idle(page);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow <= 1, `the page is ${overflow}px wider than the phone`);
  await shot(page, 'phone');
  await axe(page, 'phone households');
  await page.getByTestId('hh-' + inVillage).click();
  await page.getByTestId('edit-household').click();
  const input = field(page, 'edit-income_transfer');
  const before = Number(await input.inputValue());
  await input.fill(String(before + 100));
  await field(page, 'edit-reason').fill('e2e 入户核实转移性收入');
  const resp = page.waitForResponse((r) => r.request().method() === 'PATCH');
  await page.getByTestId('edit-save').click();
  expect((await resp).status() === 200, 'PATCH answered ' + (await resp).status());
  await page.getByTestId('history').locator('tbody tr').first().waitFor();
  // A photo taken on the visit: uploaded from the phone, then shown on the household's page.
  const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360f8cf000000020101004d1d7b6f0000000049454e44ae426082', 'hex');
  const upload = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/photos'));
  await page.getByTestId('photo-upload').setInputFiles({ name: 'visit.png', mimeType: 'image/png', buffer: png });
  expect((await upload).status() === 201, 'the photo upload answered ' + (await upload).status());
  await page.locator('a[data-testid^="photo-"] img').first().waitFor();
}, { width: 390, height: 844 });

await test('login page and the auditor’s audit log pass axe', async ({ page }) => {
  await go(page, '/login');
  await page.getByTestId('login-form').waitFor();
  await axe(page, 'login');
  await login(page, 'e2e_auditor');
  await go(page, '/audit');
  await page.getByTestId('audit').locator('tbody tr').first().waitFor();
  await axe(page, 'audit');
});

// ---- done ---------------------------------------------------------------------------------------
await browser.close();
if (serverEnd) {
  console.log(`the server ended during the tests (exit code ${serverEnd.code}, signal ${serverEnd.signal}); the end of its log:\n` + serverLog.split('\n').slice(-40).join('\n'));
  results.push({ name: 'the server stays up through every test', ok: false });
}
server.kill('SIGTERM');
await serverExited;
if (!keep) rmSync(work, { recursive: true, force: true });
const failed = results.filter((r) => !r.ok);
if (fallbackMissing) console.log('warning: the server has no history-mode fallback (allowed by --allow-pending)');
console.log(`\n${results.length - failed.length}/${results.length} browser tests passed` + (failed.length ? `; failed: ${failed.map((r) => r.name).join('; ')}` : ''));
console.log(`screenshots in ${shots}`);
process.exit(failed.length ? 1 : 0);
