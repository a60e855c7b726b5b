#!/usr/bin/env node
// `npm start`: runs the gateway and the order worker against the local services (PostgreSQL,
// Redis, RabbitMQ on their default ports unless the environment says otherwise), creates
// the database on first start, and prints where to go. Ctrl-C stops both.
// `--example-shop` (`npm run start:example-shop`) runs the example shop beside them (examples/shop),
// sharing the shop's key and webhook secret with the gateway; `--demo` also creates a sale whose
// checkout is the shop's, and one for the shop's signed-in accounts (identity "shop"), which a
// shopper joins by signing in at the shop's OpenID provider (run by the shop on SHOP_OIDC_PORT).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const args = process.argv.slice(2);
const demo = args.includes('--demo');
const withShop = demo || args.includes('--example-shop');
const unknown = args.filter((a) => a !== '--demo' && a !== '--example-shop');
if (unknown.length > 0) {
  process.stderr.write(`velvet-rope: unknown option ${unknown.join(' ')} (known: --example-shop, --demo)\n`);
  process.exit(2);
}

const env = { ...process.env };
if (!env.ADMIN_API_KEY) {
  env.ADMIN_API_KEY = randomBytes(18).toString('base64url');
  process.stdout.write(`No ADMIN_API_KEY set: made one for this run: ${env.ADMIN_API_KEY}\n`);
}
const port = env.PORT ?? '3000';
const host = env.HOST ?? '127.0.0.1';
const base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

const shopPort = env.SHOP_PORT ?? '8080';
const shopBase = `http://127.0.0.1:${shopPort}`;
const demoSale = env.SHOP_SALE_ID?.split(',')[0] ?? 'demo-drop';
if (withShop) {
  // what the gateway and the shop share: made for this run when absent, as the admin key is
  if (!env.SHOP_API_KEY) {
    env.SHOP_API_KEY = randomBytes(18).toString('base64url');
    process.stdout.write(`No SHOP_API_KEY set: made one for this run: ${env.SHOP_API_KEY}\n`);
  }
  if (!env.WEBHOOK_SECRET) env.WEBHOOK_SECRET = `whsec_${randomBytes(24).toString('base64')}`;
  // the shop's signed shoppers (sales with identity "shop"): the gateway takes the shop's keys
  if (!env.SHOP_JWKS_URL && !env.SHOP_IDENTITY_SECRET) {
    env.SHOP_JWKS_URL = `${shopBase}/.well-known/jwks.json`;
    env.SHOP_ISSUER ??= env.SHOP_IDENTITY_ISSUER ?? shopBase;
    env.SHOP_AUDIENCE ??= env.SHOP_IDENTITY_AUDIENCE ?? 'velvet-rope';
  }
  // sign-in for shoppers without a link: the shop runs its OpenID provider, the gateway signs in
  // there, and an account signed in there is the one the shop's links name (same `sub`)
  if (!env.OIDC_ISSUER) {
    env.SHOP_OIDC_PORT ??= '8081';
    env.SHOP_OIDC_CLIENT_SECRET ??= randomBytes(24).toString('base64url');
    env.OIDC_ISSUER = env.SHOP_OIDC_ISSUER ?? `http://127.0.0.1:${env.SHOP_OIDC_PORT}`;
    env.OIDC_CLIENT_ID = env.SHOP_OIDC_CLIENT_ID ?? 'velvet-rope';
    env.OIDC_CLIENT_SECRET = env.SHOP_OIDC_CLIENT_SECRET;
    if (env.SHOP_ISSUER) env.OIDC_ACCOUNT_ISSUER ??= env.SHOP_ISSUER;
    env.PUBLIC_URL ??= base;
  }
  env.WEBHOOK_URL ??= `${shopBase}/webhooks/velvet-rope`;
  env.SHOP_SALE_ID ??= demoSale;
  env.VELVET_ROPE_URL ??= base;
  env.SHOP_PORT = shopPort;
}

const children = new Map();
let stopping = false;

// Each service runs in its own process group (`detached`), so a Ctrl-C, which the terminal
// sends to every process of its foreground group, reaches this script alone, and this script
// asks each service to stop once (SIGTERM): a service that got the terminal's SIGINT and then
// this script's SIGTERM took the second as "exit now" and skipped its drain. The IPC channel
// is how a service learns this script is gone without having said so (killed with SIGKILL):
// it stops on the channel's disconnect (the servers' `disconnect` handlers).
function run(name, script) {
  const child = spawn(process.execPath, [script], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: true });
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
// the terminal closed: the services, in groups of their own, would not hear it
process.on('SIGHUP', () => stop(0));

run('order-worker', 'order-worker/dist/server.js');
run('gateway', 'gateway/dist/server.js');
if (withShop) run('example-shop', 'examples/shop/dist/server.js');

/** the demo sale: opens in two minutes, its checkout the example shop's */
function demoSaleBody() {
  return {
    id: demoSale,
    name: 'Velvet sneakers, limited drop',
    stock: 50,
    startsAt: new Date(Date.now() + 120_000).toISOString(),
    ratePerMinute: 600,
    maxPerShopper: 1,
    checkoutUrl: `${shopBase}/checkout`,
    paymentSeconds: 300,
  };
}

/** the demo's sale for the shop's signed-in accounts: open at once, joined after signing in */
function membersSaleBody() {
  return { ...demoSaleBody(), id: `${demoSale}-members`, name: 'Members-only drop', startsAt: new Date().toISOString(), identity: 'shop' };
}

async function createDemoSale(body = demoSaleBody()) {
  const res = await fetch(`${base}/api/admin/sales`, {
    method: 'POST',
    headers: { authorization: `Bearer ${env.ADMIN_API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status === 201) return `created; it opens at ${body.startsAt.slice(11, 19)} UTC`;
  const answer = await res.json().catch(() => ({}));
  return answer.code === 'SALE_EXISTS' ? 'already there' : `not created (${res.status} ${answer.code ?? ''})`;
}

async function shopAnswers() {
  for (let i = 0; i < 100 && !stopping; i++) {
    try {
      if ((await fetch(`${shopBase}/healthz`)).ok) return true;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return false;
}

// say where to go once the gateway answers
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
        if (withShop) await announceShop();
        return;
      }
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
})();

async function announceShop() {
  if (!(await shopAnswers())) {
    process.stderr.write(`velvet-rope: the example shop does not answer at ${shopBase}\n`);
    return;
  }
  const lines = [
    `The example shop is running at ${shopBase}`,
    `  product page:   ${shopBase}/             (links to ${base}/sales/${demoSale})`,
    `  checkout:       ${shopBase}/checkout     (the sale's checkoutUrl)`,
    `  webhooks in:    ${shopBase}/events       (registered with the gateway as WEBHOOK_URL)`,
    `  shop API key:   SHOP_API_KEY; webhook secret: WEBHOOK_SECRET (shared with the gateway for this run)`,
  ];
  if (env.SHOP_OIDC_CLIENT_SECRET) {
    lines.push(
      `  sign-in:        ${env.OIDC_ISSUER}  (the shop's OpenID provider: any account name, password ${env.SHOP_DEMO_PASSWORD ?? 'velvet'})`,
    );
  }
  if (demo) {
    lines.push(`  demo sale:      ${demoSale}: ${await createDemoSale()}`);
    const members = membersSaleBody();
    lines.push(`  members' sale:  ${base}/sales/${members.id}: ${await createDemoSale(members)} (Sign in, then join)`);
  } else
    lines.push(
      `  its sale:       curl -X POST ${base}/api/admin/sales -H "authorization: Bearer $ADMIN_API_KEY" \\`,
      `                    -H 'content-type: application/json' -d '${JSON.stringify(demoSaleBody())}'`,
      `                  (or start with --demo to have it made)`,
    );
  process.stdout.write(`${lines.join('\n')}\n\n`);
}
