// Precision and recall of the default rules against `fupin gen`'s planted cases, for
// bench/rules-peers and docs/rules.md.
//
//   node bench/rules_precision.mjs PLANTED_CSV FLAGS_CSV
//     PLANTED_CSV: BATCH/_truth/planted.csv (kind,household_id,id_number,file,row,detail);
//     FLAGS_CSV: `fupin export flags` output (rule,category,household_id,id_number,state,...).
// Prints one line per rule: flags, flags on a household with a planted case of the rule's
// kind (precision), and for the rules that find a planted kind, planted cases found (recall).
import { readFileSync } from 'node:fs';

// The rule that finds each planted kind (docs/rules.md, "On the generator's data").
const kRuleOfKind = {
  vehicle_owner: 'EXC_VEHICLE',
  business_owner: 'EXC_BUSINESS',
  property_owner: 'EXC_PROPERTY',
  public_servant: 'EXC_PUBLIC_SERVANT',
  died_active: 'EXC_DECEASED',
  exit_ready: 'EXIT_READY',
  at_risk: 'RISK_UNSTABLE',
  exited_not_secured: 'RISK_NOT_SECURED',
  student_no_subsidy: 'GAP_STUDENT_AID',
  dibao_missing: 'GAP_DIBAO',
  uninsured: 'GAP_UNINSURED',
  child_out_of_school: 'GAP_SCHOOL',
  member_count_mismatch: 'DQ_MEMBER_COUNT',
  two_households: 'DQ_TWO_HOUSEHOLDS',
};

// The first n comma-separated fields of each data line (no quoted commas in them).
function lines(path, n) {
  return readFileSync(path, 'utf8')
    .split('\n')
    .slice(1)
    .filter((l) => l.length > 0)
    .map((l) => l.split(',', n));
}

const [plantedCsv, flagsCsv] = process.argv.slice(2);
if (!plantedCsv || !flagsCsv) {
  console.error('usage: node rules_precision.mjs PLANTED_CSV FLAGS_CSV');
  process.exit(2);
}
const plantedHouseholds = {}; // rule -> Set(household)
const plantedIds = {}; // rule -> Set(id_number)
const cases = {}; // rule -> [[household, id]]
for (const [kind, household, id] of lines(plantedCsv, 3)) {
  const rule = kRuleOfKind[kind];
  if (!rule) continue;
  (plantedHouseholds[rule] ??= new Set()).add(household);
  if (id) (plantedIds[rule] ??= new Set()).add(id);
  (cases[rule] ??= []).push([household, id]);
}
const flags = {}; // rule -> {n, planted, keys}
for (const [rule, , household, id] of lines(flagsCsv, 4)) {
  const f = (flags[rule] ??= { n: 0, planted: 0, keys: new Set() });
  ++f.n;
  f.keys.add(`${household},${id}`);
  if (plantedHouseholds[rule]?.has(household) || (id && plantedIds[rule]?.has(id))) ++f.planted;
}
const pct = (a, b) => (b === 0 ? '—' : (a / b).toFixed(4));
console.log('rule                    flags  on planted  precision   planted    found  recall');
const rules = new Set([...Object.keys(flags), ...Object.keys(cases)]);
for (const rule of [...rules].sort()) {
  const f = flags[rule] ?? { n: 0, planted: 0, keys: new Set() };
  const c = cases[rule] ?? [];
  const found = c.filter(([h, id]) => f.keys.has(`${h},`) || (id && f.keys.has(`${h},${id}`))).length;
  const hasKind = c.length > 0;
  console.log(
    `${rule.padEnd(20)} ${String(f.n).padStart(8)} ${String(hasKind ? f.planted : '—').padStart(11)} ` +
      `${(hasKind ? pct(f.planted, f.n) : '—').padStart(10)} ${String(hasKind ? c.length : '—').padStart(9)} ` +
      `${String(hasKind ? found : '—').padStart(8)} ${(hasKind ? pct(found, c.length) : '—').padStart(7)}`,
  );
}
