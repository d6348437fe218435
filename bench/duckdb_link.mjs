// The DuckDB peer of `fupin link`'s exact stage, for bench/link-peers.
//
//   node bench/duckdb_link.mjs load BATCH_DIR DB_FILE
//     Loads members.csv and the id_number column of every department CSV (every other CSV
//     with an id_number column) with read_csv (all columns VARCHAR) into DB_FILE, one table
//     per file holding (file_row, id_number): file_row is the data row number (1 = first row
//     after the header), id_number the ID normalised in SQL (see norm_id below); then
//     member_ids, the distinct member IDs (registry persons).
//   node bench/duckdb_link.mjs join DB_FILE
//     With the tables loaded, times the exact-ID hash join of each department table with
//     member_ids: first counting matching rows per table (run twice: the first run reads the
//     tables from disk), then materialising every (dataset, file_row, member id) pair into
//     one table, which is closer to what fupin link stores.
//
// Prints one line per step: "<step> <seconds> s <rows> rows", and a final "total" line.
import { DuckDBInstance } from '@duckdb/node-api';
import { closeSync, existsSync, openSync, readdirSync, readSync, rmSync } from 'node:fs';
import { join } from 'node:path';

// fupin's rule for a clean ID (core/id_number.cc NormalizeIdNumber without the 15-digit
// widening): full-width forms to ASCII, every space removed (ASCII white space, U+3000,
// U+00A0), a final x upper-cased. upper() of the whole string gives the same join result:
// a registry ID holds no letter but a final X, so text with an x elsewhere matches nothing
// either way.
const kMacros = `
CREATE OR REPLACE MACRO norm_id(s) AS upper(regexp_replace(
  translate(s, '０１２３４５６７８９Ｘｘ', '0123456789Xx'),
  '[ \\t\\r\\n\\v\\f\\x{3000}\\x{00A0}]', '', 'g'));`;

const usage = 'usage: node duckdb_link.mjs load BATCH_DIR DB_FILE | join DB_FILE';

function quoteLiteral(s) {
  return `'${s.replaceAll("'", "''")}'`;
}

// The header line of a CSV file (its first 64 KiB are plenty).
function firstLine(path) {
  const fd = openSync(path, 'r');
  const buf = Buffer.alloc(65536);
  const n = readSync(fd, buf, 0, buf.length, 0);
  closeSync(fd);
  const text = buf.subarray(0, n).toString('utf8');
  const end = text.indexOf('\n');
  return (end < 0 ? text : text.slice(0, end)).replace(/^\uFEFF/, '').replace(/\r$/, '');
}

// Department files: every CSV but members.csv whose header has an id_number column.
function departmentFiles(dir) {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.csv') && n !== 'members.csv')
    .sort()
    .filter((n) => firstLine(join(dir, n)).split(',').includes('id_number'));
}

async function timed(conn, label, sql, countSql) {
  const start = performance.now();
  const reader = await conn.runAndReadAll(sql);
  const secs = (performance.now() - start) / 1000;
  let rows = null;
  if (countSql) {
    rows = Number((await conn.runAndReadAll(countSql)).getRows()[0][0]);
  } else if (reader.columnCount === 1 && reader.currentRowCount === 1) {
    rows = Number(reader.getRows()[0][0]);
  }
  const shown = rows === null ? '' : `${rows.toLocaleString('en-US')} rows`;
  console.log(`${label.padEnd(40)} ${secs.toFixed(3).padStart(9)} s  ${shown}`);
  return secs;
}

async function load(dir, dbFile) {
  if (!existsSync(join(dir, 'members.csv'))) throw new Error(`no members.csv in ${dir}`);
  const departments = departmentFiles(dir);
  if (departments.length === 0) throw new Error(`no department CSV in ${dir}`);
  rmSync(dbFile, { force: true });
  rmSync(`${dbFile}.wal`, { force: true });
  const instance = await DuckDBInstance.create(dbFile);
  const conn = await instance.connect();
  const threads = (await conn.runAndReadAll("SELECT current_setting('threads')")).getRows()[0][0];
  console.log(`duckdb threads: ${threads}; department tables: ${departments.length}`);
  await conn.run(kMacros);
  let total = 0;
  for (const name of ['members.csv', ...departments]) {
    const table = name.replace(/\.csv$/, '');
    // row_number() OVER () numbers rows in file order: read_csv keeps insertion order.
    const sql = `CREATE TABLE "${table}" AS
      SELECT row_number() OVER () AS file_row, norm_id(id_number) AS id_number
      FROM read_csv(${quoteLiteral(join(dir, name))}, header = true, all_varchar = true)`;
    total += await timed(conn, `load ${table}`, sql, `SELECT count(*) FROM "${table}"`);
  }
  // A person is one ID: the planted two_households cases put 0.03% of IDs in members.csv
  // twice, and a row links to the person, not to each membership.
  total += await timed(
    conn,
    'load member_ids (distinct)',
    'CREATE TABLE member_ids AS SELECT DISTINCT id_number FROM members',
    'SELECT count(*) FROM member_ids',
  );
  total += await timed(conn, 'checkpoint', 'CHECKPOINT');
  console.log(`${'load total'.padEnd(40)} ${total.toFixed(3).padStart(9)} s`);
  conn.closeSync();
  instance.closeSync();
}

async function joinTables(dbFile) {
  if (!existsSync(dbFile)) throw new Error(`no database ${dbFile}: run load first`);
  const instance = await DuckDBInstance.create(dbFile);
  const conn = await instance.connect();
  const tables = (
    await conn.runAndReadAll(
      "SELECT table_name FROM duckdb_tables() WHERE table_name NOT IN ('members', 'member_ids', 'exact_links') ORDER BY table_name",
    )
  )
    .getRows()
    .map((r) => String(r[0]));
  if (tables.length === 0) throw new Error(`no department tables in ${dbFile}`);
  for (const run of [1, 2]) {
    let total = 0;
    for (const t of tables) {
      total += await timed(
        conn,
        `count join ${t}${run === 2 ? ' (again)' : ''}`,
        `SELECT count(*) FROM "${t}" d JOIN member_ids m ON d.id_number = m.id_number`,
      );
    }
    console.log(`${`count join total (run ${run})`.padEnd(40)} ${total.toFixed(3).padStart(9)} s`);
  }
  await conn.run('DROP TABLE IF EXISTS exact_links');
  const union = tables
    .map(
      (t) =>
        `SELECT '${t}' AS dataset, d.file_row, m.id_number FROM "${t}" d JOIN member_ids m ON d.id_number = m.id_number`,
    )
    .join('\nUNION ALL\n');
  await timed(
    conn,
    'materialise exact_links',
    `CREATE TABLE exact_links AS ${union}`,
    'SELECT count(*) FROM exact_links',
  );
  conn.closeSync();
  instance.closeSync();
}

const [command, ...args] = process.argv.slice(2);
try {
  if (command === 'load' && args.length === 2) {
    await load(args[0], args[1]);
  } else if (command === 'join' && args.length === 1) {
    await joinTables(args[0]);
  } else {
    console.error(usage);
    process.exit(2);
  }
} catch (e) {
  console.error(`duckdb_link: ${e.message}`);
  process.exit(1);
}
