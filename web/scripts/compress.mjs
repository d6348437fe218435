// postbuild: writes FILE.gz beside every js/css/json/html/svg asset of dist (the server sends them
// precompressed) and prints the sizes, with the JavaScript the first page loads (index.html's
// module script and its modulepreload links) gzipped.
import { readdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync, constants } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist', import.meta.url));
const files = [];
(function walk(d) {
  for (const n of readdirSync(d)) {
    const p = join(d, n);
    if (statSync(p).isDirectory()) walk(p);
    else files.push(p);
  }
})(dist);

const sizes = new Map();
for (const f of files) {
  if (!/\.(js|css|json|html|svg|mjs)$/.test(f)) continue;
  const raw = readFileSync(f);
  const gz = gzipSync(raw, { level: constants.Z_BEST_COMPRESSION });
  writeFileSync(f + '.gz', gz);
  sizes.set(relative(dist, f), { raw: raw.length, gz: gz.length });
}
const kb = (n) => (n / 1024).toFixed(1) + ' KB';
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const first = [...html.matchAll(/(?:src|href)="\/?(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
let firstJs = 0;
let firstCss = 0;
console.log('first page (index.html):');
for (const a of first) {
  const s = sizes.get(a);
  if (!s) continue;
  if (a.endsWith('.js')) firstJs += s.gz;
  else firstCss += s.gz;
  console.log(`  ${a.padEnd(48)} ${kb(s.raw).padStart(10)}  gzip ${kb(s.gz).padStart(9)}`);
}
let allJs = 0;
for (const [a, s] of sizes) if (a.endsWith('.js')) allJs += s.gz;
console.log(`first page JavaScript gzipped: ${kb(firstJs)} (limit 600 KB); CSS gzipped: ${kb(firstCss)}`);
console.log(`all JavaScript gzipped (lazy chunks included): ${kb(allJs)} in ${[...sizes.keys()].filter((a) => a.endsWith('.js')).length} files`);
if (firstJs > 600 * 1024) {
  console.error('the first page ships more than 600 KB of gzipped JavaScript');
  process.exit(1);
}
