// The DuckDB peer of fupin's analytics queries, for bench/query-peers: the dashboard queries
// of bench/dashboard_queries.tsv translated to SQL over the tables of the same snapshot.
//
//   node bench/duckdb_query.mjs DIR DUCKDB_FILE QUERIES_TSV OUT_DIR [RUNS]
//
// Loads DIR/households.csv, members.csv and flags.csv (`fupin snapshot --export DIR`) into
// DUCKDB_FILE (made anew), every column VARCHAR ('' for a missing code) except the money
// columns (DOUBLE, NULL when missing) and flags (INTEGER), and adds each household's member
// count to households (column n, as fupin's snapshot has it), timed, with `SET threads=2` (fupin
// answers on two threads too). Then per query of QUERIES_TSV: the SQL built from its measures,
// by and where (translate() below), run once to warm up and RUNS times (default 21), the median
// and the fastest in milliseconds printed as fupin_query_bench prints them, the answer written
// to OUT_DIR/qNN.csv in fupin's format (the by dimensions then the measures; rows sorted by the
// dimension values byte-wise; counts as integers, money and incomes with 2 decimals, incidence
// with 4; empty for no value) and the SQL to OUT_DIR/qNN.sql.
//
// Semantics (docs/query.md, src/analytics/query.cc): a query counts members when a member or
// linked dimension is in by or where, households otherwise (person measures then add up the
// households' member counts). `flag` and `linked` are multi-valued: a household (person) is in
// one group per rule (data set) it has, and in the group '' when it has none; a filter on them
// keeps the rows with any of the values listed ('' keeps those with none). The flag measures
// add up the flag counts of the household's rules, only the filter's rules when there is a flag
// filter and only the group's rule when grouped by flag; a flagged household has a count > 0.
// Household measures of a member query count each household once per group.
import { DuckDBInstance } from '@duckdb/node-api';
import {
  closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

const usage = 'usage: node duckdb_query.mjs DIR DUCKDB_FILE QUERIES_TSV OUT_DIR [RUNS]';

const kRegions = ['province', 'prefecture', 'county', 'township', 'village'];
// Household dimensions: name -> households column.
const kHouseholdDims = {
  province: 'province',
  prefecture: 'prefecture',
  county: 'county',
  township: 'township',
  village: 'village',
  status: 'status',
  category: 'category',
  primary_cause: 'primary_cause',
  year: 'income_year',
  registered_year: 'registered_year',
  exit_year: 'exit_year',
  housing_safe: 'housing_safe',
  water_safe: 'water_safe',
  electricity: 'electricity',
};
const kMemberDims = [
  'sex', 'relation', 'ethnicity', 'education', 'in_school', 'health', 'labor', 'work_status',
  'age_band',
];
const kMoney = [
  'per_capita_income', 'income_wage', 'income_business', 'income_property', 'income_transfer',
];
// Measures: kind 'person' needs member counts, 'household' one row per household and group.
const kMeasures = {
  households: 'household',
  persons: 'person',
  poor_persons: 'person',
  exited_persons: 'person',
  returned_persons: 'person',
  poor_households: 'household',
  incidence: 'person',
  mean_income: 'household',
  median_income: 'household',
  income_wage: 'household',
  income_business: 'household',
  income_property: 'household',
  income_transfer: 'household',
  flags: 'household',
  flagged_households: 'household',
};
const kPoor = "('1', '3')";
const kExited = "('2', '4')";

function lit(s) {
  return `'${s.replaceAll("'", "''")}'`;
}
function ident(s) {
  return `"${s.replaceAll('"', '""')}"`;
}
function list(values) {
  return `(${values.map(lit).join(', ')})`;
}
// A region value as given ("5201" or "520100000000") as the 12-digit code, as fupin reads it.
function regionValue(v) {
  return v !== '' && v.length < 12 && /^[0-9]+$/.test(v) ? v.padEnd(12, '0') : v;
}
function isMember(dim) {
  return kMemberDims.includes(dim) || dim === 'linked';
}
function checkDim(dim, where) {
  if (!(dim in kHouseholdDims) && !kMemberDims.includes(dim) && dim !== 'flag' && dim !== 'linked')
    throw new Error(`unknown dimension '${dim}'${where ? ' in where' : ''}`);
}

// One query (measures, by, where as in the TSV) as one SELECT returning the answer's columns as
// text, sorted.
function translate(measures, by, where) {
  if (measures.length === 0) throw new Error('no measure');
  for (const m of measures) if (!(m in kMeasures)) throw new Error(`unknown measure '${m}'`);
  by.forEach((d) => checkDim(d, false));
  if (new Set(by).size !== by.length) throw new Error('a dimension is given twice');
  if (by.includes('flag') && by.includes('linked'))
    throw new Error('group by at most one of flag and linked');
  let flagFilter = null;
  let linkedFilter = null;
  const conditions = [];
  for (const [dim, values] of where) {
    checkDim(dim, true);
    if (values.length === 0) throw new Error(`where ${dim}= needs a value`);
    if (dim === 'flag' || dim === 'linked') {
      if ((dim === 'flag' ? flagFilter : linkedFilter) !== null)
        throw new Error(`where ${dim} is given twice: give one list`);
      if (dim === 'flag') flagFilter = values;
      else linkedFilter = values;
    } else if (dim in kHouseholdDims) {
      const vs = kRegions.includes(dim) ? values.map(regionValue) : values;
      conditions.push(`h.${ident(kHouseholdDims[dim])} IN ${list(vs)}`);
    } else {
      conditions.push(`m.${ident(dim)} IN ${list(values)}`);
    }
  }
  const memberLevel = by.some(isMember) || where.some(([d]) => isMember(d));
  const flagBy = by.includes('flag');
  const linkedBy = by.includes('linked');
  const need = (names) => measures.some((m) => names.includes(m));
  const personMeasures = measures.some((m) => kMeasures[m] === 'person');
  const householdMeasures = measures.some((m) => kMeasures[m] === 'household');
  const needFlags = need(['flags', 'flagged_households']);

  // Flag filter: households with a flag of a listed rule, or with none when '' is listed.
  if (flagFilter) {
    const rules = flagFilter.filter((v) => v !== '');
    const parts = [];
    if (rules.length)
      parts.push(`h.household_id IN (SELECT household_id FROM flags WHERE rule IN ${list(rules)})`);
    if (flagFilter.includes(''))
      parts.push('h.household_id NOT IN (SELECT household_id FROM flags)');
    conditions.push(`(${parts.join(' OR ')})`);
  }
  // Linked filter: string_split('', ';') is [''], so '' matches the persons with no link.
  if (linkedFilter)
    conditions.push(`list_has_any(string_split(m.linked, ';'), [${linkedFilter.map(lit).join(', ')}])`);

  // Source rows: one per household (and rule when grouped by flag), or one per member (and
  // linked data set when grouped by linked).
  const from = [];
  if (memberLevel) {
    from.push(
      linkedBy
        ? "(SELECT *, unnest(string_split(linked, ';')) AS linked_set FROM members) m"
        : 'members m',
    );
    from.push('JOIN households h ON h.household_id = m.household_id');
  } else {
    from.push('households h');
  }
  let flagValue = null;
  if (flagBy) {
    from.push('LEFT JOIN flags f ON f.household_id = h.household_id');
    if (needFlags)
      flagValue = flagFilter
        ? `CASE WHEN f.rule IN ${list(flagFilter)} THEN f.flags ELSE 0 END`
        : 'coalesce(f.flags, 0)';
  } else if (needFlags) {
    from.push(`LEFT JOIN (SELECT household_id, sum(flags) AS fl FROM flags${
      flagFilter ? ` WHERE rule IN ${list(flagFilter)}` : ''} GROUP BY household_id) fc
    ON fc.household_id = h.household_id`);
    flagValue = 'coalesce(fc.fl, 0)';
  }
  const dimExpr = (d) => {
    if (d === 'flag') return "coalesce(f.rule, '')";
    if (d === 'linked') return 'm.linked_set';
    if (d in kHouseholdDims) return `h.${ident(kHouseholdDims[d])}`;
    return `m.${ident(d)}`;
  };
  const whereSql = conditions.length ? `\nWHERE ${conditions.join('\n  AND ')}` : '';
  const keys = by.map((_, i) => `d${i}`);

  // Two shapes. A member query without household measures aggregates the member rows
  // directly. Otherwise the rows are (group, household): a household query's rows already
  // are; a member query's are made by grouping by the dimensions and the household first.
  let inner;
  let persons; // the expression of persons over the rows, given a status condition or none
  if (memberLevel && !householdMeasures) {
    inner = null;
    persons = (cond) => (cond ? `count(*) FILTER (WHERE h.status IN ${cond})` : 'count(*)');
  } else {
    const cols = by.map((d, i) => `${dimExpr(d)} AS d${i}`);
    const grouped = memberLevel;
    const one = (expr, name) => `${grouped ? `any_value(${expr})` : expr} AS ${name}`;
    cols.push(one('h.status', 'status'));
    if (personMeasures) cols.push(grouped ? 'count(*) AS n' : 'h.n AS n');
    for (const c of kMoney) if (need(moneyMeasures(c))) cols.push(one(`h.${c}`, c));
    if (flagValue) cols.push(one(flagValue, 'fv'));
    inner = `SELECT ${cols.join(', ')}
FROM ${from.join('\n  ')}${whereSql}${
      grouped ? `\nGROUP BY ${[...by.map((_, i) => `d${i}`), 'h.household_id'].join(', ')}` : ''}`;
    persons = (cond) =>
      cond ? `coalesce(sum(n) FILTER (WHERE status IN ${cond}), 0)` : 'coalesce(sum(n), 0)';
  }
  const st = inner ? 'status' : 'h.status';
  const text = (expr) => `CAST(${expr} AS VARCHAR)`;
  const money = (expr) => `printf('%.2f', ${expr})`;
  const select = by.map((d, i) => `${inner ? `d${i}` : dimExpr(d)} AS ${ident(d)}`);
  for (const m of measures) {
    let e;
    switch (m) {
      case 'households': e = text('count(*)'); break;
      case 'poor_households': e = text(`count(*) FILTER (WHERE ${st} IN ${kPoor})`); break;
      case 'persons': e = text(persons(null)); break;
      case 'poor_persons': e = text(persons(kPoor)); break;
      case 'exited_persons': e = text(persons(kExited)); break;
      case 'returned_persons': e = text(persons("('3')")); break;
      case 'incidence':
        e = `printf('%.4f', CAST(${persons(kPoor)} AS DOUBLE) / nullif(${persons(null)}, 0))`;
        break;
      case 'mean_income': e = money('avg(per_capita_income)'); break;
      // median over DOUBLE interpolates: the mean of the two middle values for an even count.
      case 'median_income': e = money('median(per_capita_income)'); break;
      case 'income_wage':
      case 'income_business':
      case 'income_property':
      case 'income_transfer':
        e = money(`coalesce(sum(${m}), 0)`);
        break;
      case 'flags': e = text('coalesce(sum(fv), 0)'); break;
      case 'flagged_households': e = text('count(*) FILTER (WHERE fv > 0)'); break;
    }
    select.push(`${e} AS ${ident(m)}`);
  }
  const groupBy = keys.length ? `\nGROUP BY ${inner ? keys.join(', ') : by.map(dimExpr).join(', ')}` : '';
  // Without dimensions an aggregate gives one row even over no rows; fupin gives none.
  const having = '\nHAVING count(*) > 0';
  const orderBy = keys.length ? `\nORDER BY ${by.map((_, i) => i + 1).join(', ')}` : '';
  if (inner)
    return `SELECT ${select.join(',\n  ')}\nFROM (${inner}) r${groupBy}${having}${orderBy}`;
  return `SELECT ${select.join(',\n  ')}\nFROM ${from.join('\n  ')}${whereSql}${groupBy}${having}${orderBy}`;
}

// The measures that read a money column.
function moneyMeasures(column) {
  return column === 'per_capita_income' ? ['mean_income', 'median_income'] : [column];
}

function csvCell(s) {
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function parseQueries(file) {
  const split = (s, sep) => (s ?? '').split(sep).filter((x) => x !== '');
  const out = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const f = line.replace(/\r$/, '').split('\t');
    const where = split(f[3], ';').map((w) => {
      const eq = w.indexOf('=');
      return eq < 0 ? [w, []] : [w.slice(0, eq), split(w.slice(eq + 1), ',')];
    });
    out.push({ name: f[0], measures: split(f[1], ','), by: split(f[2], ','), where, what: f[4] ?? '' });
  }
  return out;
}

// read_csv with every column typed from the file's header: VARCHAR ('' stays ''), except the
// DOUBLE and INTEGER columns named (empty is NULL).
// The first line of a file (the CSV header), without reading the whole file.
function firstLine(file) {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(65536);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.toString('utf8', 0, n).split('\n', 1)[0].replace(/\r$/, '');
  } finally {
    closeSync(fd);
  }
}

function readCsvSql(file, types) {
  const header = firstLine(file).split(',');
  const columns = header.map((c) => `${lit(c)}: '${types[c] ?? 'VARCHAR'}'`).join(', ');
  const text = header.filter((c) => !types[c]).map(lit).join(', ');
  return `SELECT * FROM read_csv(${lit(file)}, header = true, auto_detect = false, delim = ',',
    quote = '"', escape = '"', columns = {${columns}}, force_not_null = [${text}])`;
}

async function main(argv) {
  if (argv.length < 4 || argv.length > 5) {
    console.error(usage);
    return 2;
  }
  const [dir, dbFile, queriesTsv, outDir] = argv;
  const runs = argv.length === 5 ? Number(argv[4]) : 21;
  if (!Number.isInteger(runs) || runs < 1) {
    console.error(`duckdb_query: RUNS must be a positive integer\n${usage}`);
    return 2;
  }
  for (const f of ['households.csv', 'members.csv', 'flags.csv'])
    if (!existsSync(join(dir, f))) throw new Error(`no ${f} in ${dir}`);
  const queries = parseQueries(queriesTsv);
  const sqls = queries.map((q) => translate(q.measures, q.by, q.where));
  mkdirSync(outDir, { recursive: true });

  rmSync(dbFile, { force: true });
  rmSync(`${dbFile}.wal`, { force: true });
  const instance = await DuckDBInstance.create(dbFile);
  const conn = await instance.connect();
  await conn.run('SET threads=2');
  const threads = (await conn.runAndReadAll("SELECT current_setting('threads')")).getRows()[0][0];
  console.log(`duckdb threads: ${threads}`);
  const money = Object.fromEntries(kMoney.map((c) => [c, 'DOUBLE']));
  const tables = [
    ['households', money],
    ['members', {}],
    ['flags', { flags: 'INTEGER' }],
  ];
  let total = 0;
  for (const [table, types] of tables) {
    const start = performance.now();
    await conn.run(`CREATE TABLE ${table} AS ${readCsvSql(join(dir, `${table}.csv`), types)}`);
    const secs = (performance.now() - start) / 1000;
    total += secs;
    const n = Number((await conn.runAndReadAll(`SELECT count(*) FROM ${table}`)).getRows()[0][0]);
    console.log(`load ${table.padEnd(12)} ${secs.toFixed(3).padStart(9)} s  ${n.toLocaleString('en-US')} rows`);
  }
  {
    // Each household's member count as a column, as fupin's snapshot keeps it: household-level
    // person counts then need no join with members.
    const start = performance.now();
    await conn.run(`CREATE OR REPLACE TABLE households AS SELECT h.*, coalesce(mc.n, 0) AS n
FROM households h LEFT JOIN (SELECT household_id, count(*)::INTEGER AS n FROM members
GROUP BY household_id) mc ON mc.household_id = h.household_id`);
    const secs = (performance.now() - start) / 1000;
    total += secs;
    console.log(`${'member counts'.padEnd(17)} ${secs.toFixed(3).padStart(9)} s`);
  }
  {
    const start = performance.now();
    await conn.run('CHECKPOINT');
    const secs = (performance.now() - start) / 1000;
    total += secs;
    console.log(`${'checkpoint'.padEnd(17)} ${secs.toFixed(3).padStart(9)} s`);
  }
  console.log(`${'load total'.padEnd(17)} ${total.toFixed(3).padStart(9)} s`);

  console.log(`${'query'.padEnd(5)} ${'median ms'.padStart(10)} ${'min ms'.padStart(10)} ${'rows'.padStart(7)}  what`);
  const medians = [];
  for (let i = 0; i < queries.length; ++i) {
    const q = queries[i];
    const sql = sqls[i];
    writeFileSync(join(outDir, `${q.name}.sql`), `${sql};\n`);
    const warm = await conn.runAndReadAll(sql);
    const ms = [];
    for (let r = 0; r < runs; ++r) {
      const start = performance.now();
      await conn.runAndReadAll(sql);
      ms.push(performance.now() - start);
    }
    ms.sort((a, b) => a - b);
    const median = ms[Math.floor(ms.length / 2)];
    medians.push(median);
    const rows = warm.getRows();
    console.log(`${q.name.padEnd(5)} ${median.toFixed(2).padStart(10)} ${ms[0].toFixed(2).padStart(10)} ${String(rows.length).padStart(7)}  ${q.what}`);
    const lines = [[...q.by, ...q.measures].map(csvCell).join(',')];
    for (const row of rows) lines.push(row.map((v) => csvCell(v === null ? '' : String(v))).join(','));
    writeFileSync(join(outDir, `${q.name}.csv`), `${lines.join('\n')}\n`);
  }
  medians.sort((a, b) => a - b);
  if (medians.length)
    console.log(`median of the medians ${medians[Math.floor(medians.length / 2)].toFixed(2)} ms, ` +
      `slowest median ${medians[medians.length - 1].toFixed(2)} ms`);
  conn.closeSync();
  instance.closeSync();
  return 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  console.error(`duckdb_query: ${e.message}`);
  process.exitCode = 1;
}
