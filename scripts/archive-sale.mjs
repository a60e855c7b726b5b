#!/usr/bin/env node
// Archives a finished sale's orders out of PostgreSQL's `orders` (migration 0015: one partition
// per sale):
//
//   DATABASE_URL=postgres://... npm run archive-sale -- <saleId> [--out DIR]
//
// Only a retired sale (`sales.retired_at` set: the gateway retires a sale once it is over, its
// orders are committed, no order waits for a payment or a return, and SALE_RETENTION passed);
// any other is refused (exit 1, SALE_NOT_FINISHED) and nothing changes. Then, each step safe to
// run again after a crash:
//   1. ALTER TABLE orders DETACH PARTITION <its partition> CONCURRENTLY (FINALIZE when an
//      earlier run was interrupted half way): the workers' commits to other sales never wait;
//   2. pg_dump of the detached table (schema and rows, plain SQL) to DIR/orders-<saleId>.sql
//      (written beside it first, checked to hold every row, then renamed);
//   3. DROP TABLE of the detached partition.
// The sale's row, its report figures and its order ids (`order_ids`: an archived id stays
// taken) stay. Exit code 0: archived (or archived before); 1: refused; 2: a failure.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';

export class ArchiveRefused extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** Where a partition stands: attached, detach pending (an interrupted CONCURRENTLY), detached, gone. */
async function partitionState(client, name) {
  const { rows } = await client.query(
    `SELECT i.inhdetachpending AS pending, i.inhparent = 'orders'::regclass AS attached
       FROM pg_class c LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
      WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace`,
    [name],
  );
  const r = rows[0];
  if (!r) return 'gone';
  if (r.attached && r.pending) return 'pending';
  return r.attached ? 'attached' : 'detached';
}

function pgDump(databaseUrl, table, file) {
  return new Promise((done, fail) => {
    const child = spawn('pg_dump', ['--dbname', databaseUrl, '--table', `public.${table}`, '--no-owner', '--file', file], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', fail);
    child.on('exit', (code) => (code === 0 ? done() : fail(new Error(`pg_dump exited ${code}: ${err.trim()}`))));
  });
}

/** The data lines of the table's COPY block in a plain pg_dump. */
export function dumpedRows(sql, table) {
  const lines = sql.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`COPY public.${table} (`));
  if (start < 0) return 0;
  const end = lines.indexOf('\\.', start);
  return end < 0 ? -1 : end - start - 1;
}

/**
 * Archives `saleId`'s partition; answers what it did. Throws ArchiveRefused for a sale that
 * may not be archived, any other error for a failure (run it again).
 */
export async function archiveSale({ databaseUrl, saleId, outDir, say = () => undefined }) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT retired_at, orders_partition_name(id) AS part FROM sales WHERE id = $1', [saleId]);
    const sale = rows[0];
    if (!sale) throw new ArchiveRefused('SALE_NOT_FOUND', `no sale ${JSON.stringify(saleId)}`);
    if (sale.retired_at === null) {
      throw new ArchiveRefused(
        'SALE_NOT_FINISHED',
        `sale ${saleId} is not finished: it is not retired yet (a sale is retired once it is over, its orders committed and SALE_RETENTION passed); nothing changed`,
      );
    }
    // the dispatcher reads an event's orders when it sends it: none may be left to send
    const { rows: waiting } = await client.query('SELECT count(*)::int AS n FROM shop_events WHERE sale_id = $1', [saleId]);
    if (waiting[0].n > 0) {
      throw new ArchiveRefused(
        'EVENTS_PENDING',
        `sale ${saleId} has ${waiting[0].n} shop event(s) not yet dispatched (the worker reads their orders to send them); nothing changed: run it again once they are out`,
      );
    }
    const part = sale.part;
    const file = join(outDir, `orders-${saleId}.sql`);
    let state = await partitionState(client, part);
    if (state === 'gone') {
      if (existsSync(file)) return { saleId, partition: part, file, rows: dumpedRows(readFileSync(file, 'utf8'), part), already: true };
      throw new ArchiveRefused('NO_PARTITION', `sale ${saleId} has no orders partition ${part} and no archive at ${file}`);
    }
    if (state === 'attached') {
      say(`detaching ${part}`);
      await client.query(`ALTER TABLE orders DETACH PARTITION ${pg.escapeIdentifier(part)} CONCURRENTLY`);
    } else if (state === 'pending') {
      say(`finishing the interrupted detach of ${part}`);
      await client.query(`ALTER TABLE orders DETACH PARTITION ${pg.escapeIdentifier(part)} FINALIZE`);
    }
    state = await partitionState(client, part);
    if (state !== 'detached') throw new Error(`partition ${part} is ${state} after the detach`);

    const { rows: counted } = await client.query(`SELECT count(*)::int AS n FROM ${pg.escapeIdentifier(part)}`);
    const n = counted[0].n;
    mkdirSync(outDir, { recursive: true });
    const partial = `${file}.partial`;
    say(`dumping ${n} orders to ${file}`);
    await pgDump(databaseUrl, part, partial);
    const dumped = dumpedRows(readFileSync(partial, 'utf8'), part);
    if (dumped !== n) {
      rmSync(partial, { force: true });
      throw new Error(`the dump of ${part} holds ${dumped} rows, the table ${n}: nothing dropped`);
    }
    const fd = openSync(partial, 'r');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(partial, file);
    await client.query(`DROP TABLE ${pg.escapeIdentifier(part)}`);
    return { saleId, partition: part, file, rows: n, already: false };
  } finally {
    await client.end();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  let saleId;
  let outDir = 'archive';
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--out') outDir = args[++i];
    else if (a.startsWith('--out=')) outDir = a.slice('--out='.length);
    else if (!a.startsWith('-') && saleId === undefined) saleId = a;
    else {
      process.stderr.write(`archive-sale: unknown argument ${a}\n`);
      process.exit(2);
    }
  }
  const databaseUrl = process.env.DATABASE_URL;
  if (!saleId || !outDir || !databaseUrl) {
    process.stderr.write('usage: DATABASE_URL=postgres://... node scripts/archive-sale.mjs <saleId> [--out DIR]\n');
    process.exit(2);
  }
  try {
    const done = await archiveSale({
      databaseUrl,
      saleId,
      outDir: resolve(outDir),
      say: (s) => process.stderr.write(`archive-sale: ${s}\n`),
    });
    process.stdout.write(`${JSON.stringify(done)}\n`);
    process.exit(0);
  } catch (err) {
    if (err instanceof ArchiveRefused) {
      process.stderr.write(`archive-sale: ${err.code}: ${err.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`archive-sale: failed: ${err.message}\n`);
    process.exit(2);
  }
}
