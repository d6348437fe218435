#!/usr/bin/env node
// Page timings of the web app in a real browser (issue 15's performance figures), against a
// server that is already running, e.g. `fupin serve` on a full-scale province:
//   node web/e2e/perf.mjs --url http://127.0.0.1:8080 --user NAME --password-file FILE
//        [--runs 5] [--chromium /usr/bin/chromium]
// Each run opens a new browser context, signs in on the login page, empties the browser's
// cache, loads the overview cold and then drills down with the page's own links: province → prefecture →
// county → township → village → household. A step is "done" when every request it made has
// answered and every chart on the page has been drawn: its time runs from navigation start
// (the cold load) or from the click to the later of the last response's end and the last
// chart's setOption (a MutationObserver on the charts' data-drawn attribute). Prints each
// run and the median of each step, and the JavaScript the first page shipped (compressed).
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf('--' + name);
  return i >= 0 ? args[i + 1] : def;
};
const origin = opt('url');
const user = opt('user');
const passwordFile = opt('password-file');
if (!origin || !user || !passwordFile) {
  console.error('usage: node web/e2e/perf.mjs --url URL --user NAME --password-file FILE [--runs N]');
  process.exit(2);
}
const password = readFileSync(passwordFile, 'utf8').trim();
const runs = Number(opt('runs', '5'));

const browser = await chromium.launch({
  executablePath: opt('chromium', process.env.CHROMIUM || '/usr/bin/chromium'),
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});

// Records, in the page, when a chart was last drawn.
const observeCharts = () => {
  window.__lastDrawn = 0;
  new MutationObserver(() => {
    window.__lastDrawn = performance.now();
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-drawn'] });
};

// Waits until no request has been in flight for 200 ms and every chart on the page is drawn;
// then the step's time in ms since `since` (page time), from the page's own clocks.
// A step that has not settled in 30 s fails, naming what it waits for, rather than hanging.
async function settled(page, inflight, since) {
  let quietSince = Date.now();
  const deadline = Date.now() + 30000;
  for (;;) {
    if (Date.now() > deadline) {
      const undrawn = await page.evaluate(() => [...document.querySelectorAll('.chart')].filter((c) => c.dataset.drawn !== '1').map((c) => c.dataset.testid || '?'));
      throw new Error(`${page.url()}: not settled after 30 s; in flight: ${[...inflight].map((r) => r.url()).join(', ') || 'none'}; charts not drawn: ${undrawn.join(', ') || 'none'}`);
    }
    if (inflight.size > 0) quietSince = Date.now();
    if (inflight.size === 0 && Date.now() - quietSince >= 200) {
      const drawn = await page.evaluate(() => {
        const charts = [...document.querySelectorAll('.chart')];
        return charts.length > 0 && charts.every((c) => c.dataset.drawn === '1');
      });
      if (drawn) break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  if (process.env.PERF_DEBUG)
    console.log(
      await page.evaluate(
        (t0) =>
          performance
            .getEntriesByType('resource')
            .filter((e) => e.startTime >= t0)
            .map((e) => `  ${e.name.replace(location.origin, '')} ${(e.startTime - t0).toFixed(0)}→${(e.responseEnd - t0).toFixed(0)} ms (${e.encodedBodySize} B)`)
            .join('\n') +
          '\n' +
          performance
            .getEntriesByType('measure')
            .filter((e) => e.startTime >= t0)
            .map((e) => `  ${e.name} ${(e.startTime - t0).toFixed(0)}→${(e.startTime + e.duration - t0).toFixed(0)} ms`)
            .join('\n') +
          `\n  last chart drawn at ${(window.__lastDrawn - t0).toFixed(0)} ms`,
        since,
      ),
    );
  return page.evaluate((t0) => {
    const ends = performance
      .getEntriesByType('resource')
      .filter((e) => e.startTime >= t0)
      .map((e) => e.responseEnd);
    return Math.max(window.__lastDrawn, ...ends) - t0;
  }, since);
}

async function oneRun() {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  await page.addInitScript(observeCharts);
  // Signs in on the login page, then empties the browser's cache: the overview loads cold.
  await page.goto(origin + '/login');
  const field = (id) => page.locator(`[data-testid="${id}"] input, input[data-testid="${id}"]`).first();
  await field('login-user').fill(user);
  await field('login-password').fill(password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('menu').waitFor();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.clearBrowserCache');
  const inflight = new Set();
  const errors = [];
  page.on('request', (r) => inflight.add(r));
  page.on('requestfinished', (r) => inflight.delete(r));
  page.on('requestfailed', (r) => {
    inflight.delete(r);
    errors.push(`${r.url()} failed`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) errors.push(`${r.status()} ${r.url()}`);
  });
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  const steps = {};
  await page.goto(origin + '/overview');
  steps.overview = await settled(page, inflight, 0);
  const js = await page.evaluate(() =>
    performance
      .getEntriesByType('resource')
      .filter((e) => e.name.endsWith('.js'))
      .reduce((sum, e) => sum + e.encodedBodySize, 0),
  );
  // Down the sub-region tables: the first row (the most poor people), then the village's
  // first household.
  for (const level of ['prefecture', 'county', 'township', 'village']) {
    const link = page.locator('[data-testid="children-table"] [data-testid^="child-"]').first();
    await link.waitFor();
    const testid = await link.getAttribute('data-testid');
    const since = await page.evaluate((id) => {
      const t = performance.now();
      document.querySelector(`[data-testid="${id}"]`).click();
      return t;
    }, testid);
    if (level === 'village') await page.getByTestId('village-households').waitFor();
    else await page.waitForURL('**/regions/' + testid.slice('child-'.length));
    steps[level] = await settled(page, inflight, since);
  }
  const hh = page.locator('[data-testid^="hh-"]').first();
  await hh.waitFor();
  const hid = (await hh.getAttribute('data-testid')).slice(3);
  const since = await page.evaluate(() => performance.now());
  await hh.click();
  await page.waitForURL('**/households/' + hid);
  await page.getByTestId('members').locator('tbody tr').first().waitFor();
  steps.household = await settled(page, inflight, since);
  await context.close();
  if (errors.length) throw new Error('errors on the page: ' + errors.join('; '));
  return { steps, js };
}

const all = [];
for (let i = 0; i < runs; ++i) {
  const r = await oneRun();
  all.push(r);
  console.log(
    `run ${i + 1}: ` + Object.entries(r.steps).map(([k, v]) => `${k} ${v.toFixed(0)} ms`).join(', ') + `; JS ${(r.js / 1024).toFixed(0)} KB`,
  );
}
await browser.close();
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
console.log('median: ' + Object.keys(all[0].steps).map((k) => `${k} ${median(all.map((r) => r.steps[k])).toFixed(0)} ms`).join(', '));
console.log(`JavaScript shipped for the first page: ${(all[0].js / 1024).toFixed(0)} KB compressed`);
