// The DuckDB peer of `fupin rules run`, for bench/rules-peers: the 23 default rules
// (data/rules/default.toml) written as SQL over the same registry, department rows and links.
//
//   node bench/duckdb_rules.mjs load BATCH_DIR LINKS_CSV DB_FILE
//     Loads households.csv, members.csv, the department CSVs the rules read (typed, each
//     row with its data row number file_row) and the links `fupin export links` wrote
//     (exact, repaired and probabilistic only) into DB_FILE, timed per table.
//   node bench/duckdb_rules.mjs check DB_FILE [OUT_CSV]
//     With the tables loaded, builds the table flags(rule, household_id, id_number) with
//     every rule's flags in one statement (run twice: the first reads the tables from disk),
//     then prints the flags per rule as "rule <id> <count>", and writes the flags sorted to
//     OUT_CSV (rule,household_id,id_number) when given.
//
// Rule semantics follow docs/rules.md: a comparison with a missing value is false, ages are
// whole years on 31 December of the latest income year, per-capita income is rounded to the
// fen, lines are the default file's (2019: exit 3,747, monitoring 4,827).
import { DuckDBInstance } from '@duckdb/node-api';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const usage =
  'usage: node duckdb_rules.mjs load BATCH_DIR LINKS_CSV DB_FILE | check DB_FILE [OUT_CSV]';

function quoteLiteral(s) {
  return `'${s.replaceAll("'", "''")}'`;
}

async function timed(conn, label, sql, countSql) {
  const start = performance.now();
  await conn.run(sql);
  const secs = (performance.now() - start) / 1000;
  let shown = '';
  if (countSql) {
    const n = Number((await conn.runAndReadAll(countSql)).getRows()[0][0]);
    shown = `${n.toLocaleString('en-US')} rows`;
  }
  console.log(`${label.padEnd(40)} ${secs.toFixed(3).padStart(9)} s  ${shown}`);
  return secs;
}

// Typed columns per file (everything else is left out). Money and areas as DOUBLE.
const kTables = {
  households: `household_id, village_code, TRY_CAST("category" AS INT) AS "category",
    TRY_CAST("primary_cause" AS INT) AS "primary_cause", other_causes, TRY_CAST("status" AS INT) AS "status",
    TRY_CAST("members" AS INT) AS "members", TRY_CAST("housing_safe" AS INT) AS "housing_safe",
    TRY_CAST("water_safe" AS INT) AS "water_safe", TRY_CAST("income_year" AS INT) AS "income_year",
    TRY_CAST("income_wage" AS DOUBLE) AS "income_wage", TRY_CAST("income_business" AS DOUBLE) AS "income_business",
    TRY_CAST("income_property" AS DOUBLE) AS "income_property",
    TRY_CAST("income_transfer" AS DOUBLE) AS "income_transfer"`,
  members: `upper(trim(id_number)) AS id_number, household_id, name,
    TRY_CAST("birth_date" AS DATE) AS "birth_date", TRY_CAST("relation" AS INT) AS "relation",
    TRY_CAST("in_school" AS INT) AS "in_school", TRY_CAST("health" AS INT) AS "health",
    TRY_CAST("work_status" AS INT) AS "work_status", TRY_CAST("work_months" AS INT) AS "work_months",
    TRY_CAST("medical_insured" AS INT) AS "medical_insured"`,
  vehicles: `plate, vehicle_type`,
  business: `TRY_CAST("role" AS INT) AS "role"`,
  property: `city`,
  public_servants: `employer`,
  deaths: `TRY_CAST("death_date" AS DATE) AS "death_date"`,
  edu_students: `TRY_CAST("subsidy_yuan" AS DOUBLE) AS "subsidy"`,
  health_enrollment: `TRY_CAST("year" AS INT) AS "year"`,
  health_claims: `claim_id, TRY_CAST("total_cost" AS DOUBLE) AS "total_cost",
    TRY_CAST("basic_paid" AS DOUBLE) AS "basic_paid", TRY_CAST("critical_paid" AS DOUBLE) AS "critical_paid",
    TRY_CAST("aid_paid" AS DOUBLE) AS "aid_paid"`,
  civil_dibao: `TRY_CAST("end_date" AS DATE) AS "end_date"`,
  disability: `TRY_CAST("grade" AS INT) AS "grade"`,
  hr_employment: `TRY_CAST("months" AS INT) AS "months"`,
  relocation: `from_village_code`,
};

async function load(dir, linksCsv, dbFile) {
  for (const f of ['households.csv', 'members.csv'])
    if (!existsSync(join(dir, f))) throw new Error(`no ${f} in ${dir}`);
  if (!existsSync(linksCsv)) throw new Error(`no links file ${linksCsv}`);
  rmSync(dbFile, { force: true });
  rmSync(`${dbFile}.wal`, { force: true });
  const instance = await DuckDBInstance.create(dbFile);
  const conn = await instance.connect();
  const threads = (await conn.runAndReadAll("SELECT current_setting('threads')")).getRows()[0][0];
  console.log(`duckdb threads: ${threads}`);
  let total = 0;
  for (const [table, columns] of Object.entries(kTables)) {
    const file = join(dir, `${table}.csv`);
    if (!existsSync(file)) throw new Error(`no ${file}`);
    const department = table !== 'households' && table !== 'members';
    // row_number() OVER () numbers rows in file order: read_csv keeps insertion order.
    const sql = `CREATE TABLE "${table}" AS SELECT
      ${department ? 'row_number() OVER () AS file_row, ' : ''}${columns}
      FROM read_csv(${quoteLiteral(file)}, header = true, all_varchar = true)`;
    total += await timed(conn, `load ${table}`, sql, `SELECT count(*) FROM "${table}"`);
  }
  total += await timed(
    conn,
    'load links',
    `CREATE TABLE links AS SELECT dataset, CAST("row" AS BIGINT) AS file_row, id_number
     FROM read_csv(${quoteLiteral(linksCsv)}, header = true, all_varchar = true)
     WHERE stage IN ('exact', 'repaired', 'probabilistic')`,
    'SELECT count(*) FROM links',
  );
  total += await timed(conn, 'checkpoint', 'CHECKPOINT');
  console.log(`${'load total'.padEnd(40)} ${total.toFixed(3).padStart(9)} s`);
  conn.closeSync();
  instance.closeSync();
}

// Every rule as one SELECT of (rule, household_id, id_number), over two tables built first
// in the same statement: pm, one row per member with every per-member department fact the
// rules need (one aggregate per data set over its linked records), and ph, one row per
// household with its derived fields and household-wide facts.
function rulesSql() {
  // Per-member aggregate of one data set's linked records.
  const agg = (table, columns) => `${table}_m AS (
    SELECT m.household_id, m.id_number, ${columns}
    FROM links l JOIN "${table}" d ON l.dataset = '${table}' AND d.file_row = l.file_row
    JOIN members m ON m.id_number = l.id_number
    GROUP BY m.household_id, m.id_number)`;
  const aggs = [
    agg('vehicles', "bool_or(d.vehicle_type NOT LIKE '%摩托车%') AS car"),
    agg('business', 'bool_or(d.role IN (1, 2)) AS business'),
    agg('property', 'true AS property'),
    agg('public_servants', 'true AS servant'),
    agg('deaths', 'true AS dead'),
    agg('health_enrollment', 'true AS enrolled'),
    agg('edu_students', 'count(*) AS school_records, bool_or(d.subsidy > 0) AS subsidised'),
    agg('disability', 'true AS certified'),
    agg(
      'health_claims',
      `sum(d.total_cost - coalesce(d.basic_paid, 0) - coalesce(d.critical_paid, 0)
         - coalesce(d.aid_paid, 0)) AS out_of_pocket,
       bool_or(coalesce(d.aid_paid, 0) = 0
         AND d.total_cost - coalesce(d.basic_paid, 0) - coalesce(d.critical_paid, 0) >= 100)
         AS claim_without_aid`,
    ),
    agg('civil_dibao', 'bool_or(d.end_date IS NULL OR d.end_date >= (SELECT as_of FROM ref)) AS dibao_current'),
    agg('hr_employment', 'count(*) AS jobs, sum(d.months) AS job_months'),
    agg('relocation', 'list(d.from_village_code) AS from_villages'),
  ];
  const joins = [
    'vehicles', 'business', 'property', 'public_servants', 'deaths', 'health_enrollment',
    'edu_students', 'disability', 'health_claims', 'civil_dibao', 'hr_employment', 'relocation',
  ]
    .map((t) => `LEFT JOIN ${t}_m USING (household_id, id_number)`)
    .join('\n    ');
  const person = (rule, where) =>
    `SELECT '${rule}' AS rule, m.household_id, m.id_number FROM pm m WHERE ${where}`;
  const household = (rule, where) =>
    `SELECT '${rule}' AS rule, h.household_id, '' AS id_number FROM ph h WHERE ${where}`;
  const parts = [
    person('EXC_VEHICLE', 'm.status <> 9 AND coalesce(m.car, FALSE)'),
    person('EXC_BUSINESS', 'm.status <> 9 AND coalesce(m.business, FALSE)'),
    person('EXC_PROPERTY', 'm.status <> 9 AND m.property'),
    person('EXC_PUBLIC_SERVANT', 'm.status <> 9 AND m.servant'),
    person('EXC_DECEASED', 'm.status IN (1, 2, 3) AND m.dead'),
    household(
      'EXIT_READY',
      `h.status IN (1, 3) AND h.per_capita > h.exit_line AND h.housing_safe = 1
       AND h.water_safe = 1 AND h.all_insured AND NOT h.child_out_of_school`,
    ),
    household('RISK_UNSTABLE', 'h.status IN (2, 4) AND h.per_capita < h.monitoring_line'),
    household('RISK_MEDICAL', 'h.status IN (2, 4) AND h.out_of_pocket > h.income_total'),
    household(
      'RISK_DISASTER',
      `h.status IN (2, 4) AND h.housing_safe = 0 AND (h.primary_cause = 4
       OR list_contains(string_split(coalesce(h.other_causes, ''), ';'), '4'))`,
    ),
    person(
      'RISK_JOB_LOSS',
      `m.status IN (2, 4) AND m.work_status IN (3, 4) AND m.jobs > 0
       AND m.job_months + 3 <= m.work_months`,
    ),
    household('RISK_NOT_SECURED', 'h.status IN (2, 4) AND (h.housing_safe = 0 OR h.water_safe = 0)'),
    person('GAP_STUDENT_AID', 'm.status <> 9 AND m.in_school > 0 AND NOT coalesce(m.subsidised, FALSE)'),
    person(
      'GAP_SCHOOL',
      'm.status <> 9 AND m.age BETWEEN 7 AND 15 AND m.in_school = 0 AND m.school_records IS NULL',
    ),
    person('GAP_DISABILITY_CERT', 'm.status <> 9 AND m.health = 4 AND m.certified IS NULL'),
    household('GAP_DIBAO', 'h.status <> 9 AND h.category IN (2, 3) AND NOT h.dibao_current'),
    person(
      'GAP_UNINSURED',
      'm.status <> 9 AND (coalesce(m.medical_insured <> 1, FALSE) OR m.enrolled IS NULL)',
    ),
    person('GAP_MEDICAL_AID', 'm.status IN (1, 2, 3) AND coalesce(m.claim_without_aid, FALSE)'),
    person(
      'GAP_RELOCATION',
      `m.status <> 9 AND len(list_filter(coalesce(m.from_villages, []), v -> v <> m.village_code)) > 0`,
    ),
    household('DQ_MEMBER_COUNT', 'h.members <> h.member_rows'),
    person('DQ_INVALID_ID', 'NOT m.id_valid'),
    person('DQ_TWO_HOUSEHOLDS', 'm.id_households > 1'),
    person(
      'DQ_AGE_RELATION',
      `(m.relation IN (3, 4, 7, 8) AND date_sub('year', m.head_birth, m.birth_date) < 12)
       OR (m.relation = 9 AND date_sub('year', m.birth_date, m.head_birth) < 12)`,
    ),
    person('DQ_IMPOSSIBLE_AGE', 'm.birth_date IS NULL OR m.age < 0 OR m.age > 110'),
  ];
  return `CREATE OR REPLACE TABLE flags AS
WITH ref AS (SELECT make_date(max(income_year), 12, 31) AS as_of FROM households),
${aggs.join(',\n')},
heads AS (SELECT household_id, min(birth_date) AS head_birth FROM members WHERE relation = 1
  GROUP BY household_id),
pm AS (
  SELECT m.*, h.status, h.village_code, heads.head_birth,
    date_sub('year', m.birth_date, (SELECT as_of FROM ref)) AS age,
    count(DISTINCT m.household_id) OVER (PARTITION BY m.id_number) AS id_households,
    length(m.id_number) = 18 AND regexp_full_match(m.id_number, '[0-9]{17}[0-9X]')
      AND try_strptime(substr(m.id_number, 7, 8), '%Y%m%d') IS NOT NULL
      AND substr('10X98765432', CAST(list_sum(list_transform(range(17),
        i -> CAST(substr(m.id_number, i + 1, 1) AS INT)
          * [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2][i + 1])) % 11 AS INT) + 1, 1)
        = substr(m.id_number, 18, 1) AS id_valid,
    vehicles_m.car, business_m.business, property_m.property, public_servants_m.servant,
    deaths_m.dead, health_enrollment_m.enrolled, edu_students_m.school_records,
    edu_students_m.subsidised, disability_m.certified, health_claims_m.out_of_pocket,
    health_claims_m.claim_without_aid, civil_dibao_m.dibao_current, hr_employment_m.jobs,
    hr_employment_m.job_months, relocation_m.from_villages
  FROM members m JOIN households h USING (household_id)
    LEFT JOIN heads USING (household_id)
    ${joins}),
ph AS (
  SELECT h.*,
    round((coalesce(income_wage, 0) + coalesce(income_business, 0) + coalesce(income_property, 0)
      + coalesce(income_transfer, 0)) / nullif(h.members, 0), 2) AS per_capita,
    coalesce(income_wage, 0) + coalesce(income_business, 0) + coalesce(income_property, 0)
      + coalesce(income_transfer, 0) AS income_total,
    CASE WHEN h.income_year = 2019 THEN 3747 WHEN h.income_year = 2020 THEN 4000 END AS exit_line,
    CASE WHEN h.income_year = 2019 THEN 4827 WHEN h.income_year IN (2020, 2021) THEN 6000 END
      AS monitoring_line,
    coalesce(p.member_rows, 0) AS member_rows, coalesce(p.out_of_pocket, 0) AS out_of_pocket,
    coalesce(p.all_insured, TRUE) AS all_insured,
    coalesce(p.child_out_of_school, FALSE) AS child_out_of_school,
    coalesce(p.dibao_current, FALSE) AS dibao_current
  FROM households h LEFT JOIN (
    SELECT household_id, count(*) AS member_rows, sum(out_of_pocket) AS out_of_pocket,
      bool_and(coalesce(medical_insured = 1, FALSE) AND enrolled IS NOT NULL) AS all_insured,
      bool_or(age BETWEEN 7 AND 15 AND in_school = 0) AS child_out_of_school,
      bool_or(coalesce(dibao_current, FALSE)) AS dibao_current
    FROM pm GROUP BY household_id) p USING (household_id))
${parts.join('\nUNION ALL\n')}`;
}

async function check(dbFile, outCsv) {
  if (!existsSync(dbFile)) throw new Error(`no database ${dbFile}: run load first`);
  const instance = await DuckDBInstance.create(dbFile);
  const conn = await instance.connect();
  const sql = rulesSql();
  for (const run of [1, 2])
    await timed(
      conn,
      `all rules${run === 2 ? ' (again)' : ''}`,
      sql,
      'SELECT count(*) FROM flags',
    );
  const rows = (
    await conn.runAndReadAll('SELECT rule, count(*) FROM flags GROUP BY rule ORDER BY rule')
  ).getRows();
  for (const [rule, n] of rows) console.log(`rule ${rule} ${Number(n)}`);
  if (outCsv)
    await conn.run(`COPY (SELECT rule, household_id, id_number FROM flags
      ORDER BY rule, household_id, id_number) TO ${quoteLiteral(outCsv)} (HEADER, DELIMITER ',', QUOTE '')`);
  conn.closeSync();
  instance.closeSync();
}

const [command, ...args] = process.argv.slice(2);
try {
  if (command === 'load' && args.length === 3) {
    await load(args[0], args[1], args[2]);
  } else if (command === 'check' && (args.length === 1 || args.length === 2)) {
    await check(args[0], args[1]);
  } else {
    console.error(usage);
    process.exit(2);
  }
} catch (e) {
  console.error(`duckdb_rules: ${e.message}`);
  process.exit(1);
}
