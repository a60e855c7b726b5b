#!/usr/bin/env node
// `npm start`: runs the gateway and the order worker against the local services (PostgreSQL,
// Redis, RabbitMQ on their default ports unless the environment says otherwise), creates
// the database on first start, and prints where to go. Ctrl-C stops both.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const env = { ...process.env };
if (!env.ADMIN_API_KEY) {
  env.ADMIN_API_KEY = randomBytes(18).toString('base64url');
  process.stdout.write(`No ADMIN_API_KEY set: made one for this run: ${env.ADMIN_API_KEY}\n`);
}
const port = env.PORT ?? '3000';
const host = env.HOST ?? '127.0.0.1';

const children = new Map();
let stopping = false;

function run(name, script) {
  const child = spawn(process.execPath, [script], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  children.set(name, child);
  child.on('exit', (code, signal) => {
    children.delete(name);
    if (!stopping) {
      process.stderr.write(`velvet-rope: ${name} exited (${signal ?? code}); stopping\n`);
      stop(code || 1);
    } else if (children.size === 0) {
      process.exit(process.exitCode ?? 0);
    }
  });
  return child;
}

function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  process.exitCode = code;
  for (const child of children.values()) child.kill('SIGTERM');
  if (children.size === 0) process.exit(code);
}

process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

run('order-worker', 'order-worker/dist/server.js');
run('gateway', 'gateway/dist/server.js');

// say where to go once the gateway answers
const base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
const deadline = Date.now() + 60_000;
(async function announce() {
  while (!stopping && Date.now() < deadline) {
    try {
      const res = await fetch(`${base}/healthz`);
      if (res.ok) {
        process.stdout.write(
          [
            '',
            `Velvet Rope is running at ${base}`,
            `  console:        ${base}/admin                (admin key: ADMIN_API_KEY)`,
            `  waiting room:   ${base}/sales/<saleId>`,
            `  API reference:  ${base}/docs`,
            `  readiness:      ${base}/readyz`,
            `  create a sale:  curl -X POST ${base}/api/admin/sales -H "authorization: Bearer $ADMIN_API_KEY" \\`,
            `                    -H 'content-type: application/json' -d '{"id":"drop-1","name":"Drop 1","stock":100,"startsAt":"${new Date(Date.now() + 120_000).toISOString()}","ratePerMinute":600}'`,
            '',
          ].join('\n') + '\n',
        );
        return;
      }
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
})();
