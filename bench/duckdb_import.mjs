// Loads every exchange CSV of a batch folder into a DuckDB database with read_csv, one table
// per file: the DuckDB peer of `fupin import` in bench/import-peers.
// Usage: node bench/duckdb_import.mjs BATCH_DIR DB_FILE
import { DuckDBInstance } from '@duckdb/node-api';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const [dir, dbFile] = process.argv.slice(2);
const instance = await DuckDBInstance.create(dbFile);
const conn = await instance.connect();
for (const name of readdirSync(dir).filter((n) => n.endsWith('.csv')).sort()) {
  const table = name.replace(/\.csv$/, '');
  const path = join(dir, name).replaceAll("'", "''");
  // all_varchar keeps ID numbers as text, as fupin does; header=true reads the column names.
  await conn.run(`CREATE TABLE ${table} AS SELECT * FROM read_csv('${path}', header = true, all_varchar = true)`);
}
conn.closeSync?.();
