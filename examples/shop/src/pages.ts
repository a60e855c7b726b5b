/**
 * The shop's HTML pages: plain server-rendered strings, every value escaped. Each page carries
 * `data-page` (and the checkout `data-order`) so a test or a newcomer's script can tell where it is.
 */
import type { ReceivedEvent } from './webhook-inbox.js';
import type { OrderClaims } from './order-token.js';

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function layout(page: string, title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Example shop</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; margin: 0; color: #1d1d1f; background: #f6f4f0; }
  header { background: #2b1d3a; color: #fff; padding: 0.8rem 1.5rem; font-weight: 600; }
  main { max-width: 40rem; margin: 2rem auto; padding: 0 1.5rem; }
  .card { background: #fff; border-radius: 12px; padding: 1.5rem; box-shadow: 0 1px 4px rgba(0,0,0,.08); }
  .button { display: inline-block; border: 0; border-radius: 8px; background: #6b2fb3; color: #fff; padding: 0.7rem 1.4rem;
            font: inherit; font-weight: 600; text-decoration: none; cursor: pointer; }
  .muted { color: #666; }
  .error { border-left: 4px solid #b3261e; }
  table { border-collapse: collapse; width: 100%; font-size: 14px; }
  td, th { text-align: left; padding: 0.3rem 0.5rem; border-bottom: 1px solid #eee; vertical-align: top; }
  fieldset { border: 0; padding: 0; margin: 1rem 0; }
</style>
</head>
<body data-page="${escapeHtml(page)}">
<header>Example shop</header>
<main>
${body}
</main>
</body>
</html>
`;
}

export function productPage(productName: string, waitingRoomUrl: string | undefined): string {
  const join = waitingRoomUrl
    ? `<p><a id="join" class="button" href="${escapeHtml(waitingRoomUrl)}">Join the drop</a></p>
<p class="muted">The drop is sold through a waiting room: you get a fair place in line, and when your turn comes you buy and
come back here to pay.</p>`
    : '<p class="muted">No drop is on sale right now (set SHOP_SALE_ID).</p>';
  return layout(
    'product',
    productName,
    `<div class="card">
<h1 id="product-name">${escapeHtml(productName)}</h1>
<p>Hand-stitched, numbered, and only a few hundred pairs.</p>
${join}
</div>`,
  );
}

export function checkoutPage(claims: OrderClaims, token: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((claims.paymentDueAt.getTime() - now) / 1000));
  return layout(
    'checkout',
    'Checkout',
    `<div class="card" id="checkout" data-order="${escapeHtml(claims.orderId)}">
<h1>Checkout</h1>
<p>Order <code id="order-id">${escapeHtml(claims.orderId)}</code></p>${
      claims.account === null ? '' : `\n<p>For your account <strong id="account">${escapeHtml(claims.account)}</strong></p>`
    }
<p><strong id="quantity">${claims.quantity} ${claims.quantity === 1 ? 'unit' : 'units'}</strong> of the drop, held for you.</p>
<p>Pay before <time id="deadline" datetime="${claims.paymentDueAt.toISOString()}">${escapeHtml(claims.paymentDueAt.toUTCString())}</time>
(<span id="seconds-left">${seconds}</span> s left); after that the unit goes back on sale.</p>
<form method="post" action="/checkout/pay">
<input type="hidden" name="order" value="${escapeHtml(claims.orderId)}">
<input type="hidden" name="token" value="${escapeHtml(token)}">
<fieldset>
<legend>Card (pretend)</legend>
<label><input type="radio" name="card" value="pay" checked> A card that pays</label><br>
<label><input type="radio" name="card" value="decline" id="card-decline"> A card that declines</label>
</fieldset>
<button id="pay" class="button" type="submit">Pay</button>
</form>
</div>`,
  );
}

export interface ProblemPage {
  readonly title: string;
  readonly message: string;
  readonly code: string;
  /** a link back to the waiting room, when the sale is known */
  readonly backUrl?: string;
}

export function problemPage(p: ProblemPage): string {
  return layout(
    'problem',
    p.title,
    `<div class="card error" id="problem" data-code="${escapeHtml(p.code)}">
<h1>${escapeHtml(p.title)}</h1>
<p>${escapeHtml(p.message)}</p>
<p class="muted">Code: <code>${escapeHtml(p.code)}</code></p>
${p.backUrl ? `<p><a class="button" href="${escapeHtml(p.backUrl)}">Back to the waiting room</a></p>` : ''}
</div>`,
  );
}

export function eventsPage(events: readonly ReceivedEvent[], badSignatures: number): string {
  const rows = events
    .map(
      (e, i) => `<tr><td>${i + 1}</td><td>${escapeHtml(e.receivedAt)}</td><td>${escapeHtml(e.type)}</td>
<td><code>${escapeHtml(e.webhookId)}</code></td><td>${e.duplicates}</td><td><code>${escapeHtml(JSON.stringify(e.data))}</code></td></tr>`,
    )
    .join('\n');
  return layout(
    'events',
    'Webhook events',
    `<div class="card">
<h1>Webhook events received</h1>
<p class="muted">${events.length} events, in arrival order, each once (repeats of a webhook-id are counted, not kept);
${badSignatures} deliveries refused for a bad signature. JSON: <a href="/api/events">/api/events</a>.</p>
<table id="events">
<thead><tr><th>#</th><th>received</th><th>type</th><th>webhook-id</th><th>repeats</th><th>data</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</div>`,
  );
}

/**
 * The shop's sign-in at its OpenID provider (identity-provider.ts): account and password, for
 * the client that asked (Velvet Rope's waiting room); "Cancel" answers `access_denied`.
 */
export function signInPage(uid: string, clientName: string, problem?: string): string {
  const action = `/interaction/${encodeURIComponent(uid)}`;
  return layout(
    'sign-in',
    'Sign in',
    `<section class="card${problem ? ' error' : ''}">
<h1>Sign in to the shop</h1>
<p class="muted">${escapeHtml(clientName)} asks who you are: your account name goes to it, nothing else.</p>
${problem ? `<p id="sign-in-problem" role="alert">${escapeHtml(problem)}</p>` : ''}
<form method="post" action="${escapeHtml(action)}">
<fieldset>
<p><label>Account <input name="account" id="account" autocomplete="username" required></label></p>
<p><label>Password <input name="password" id="password" type="password" autocomplete="current-password" required></label></p>
</fieldset>
<button class="button" id="sign-in" type="submit" name="do" value="sign-in">Sign in and continue</button>
<button class="button" id="cancel" type="submit" name="do" value="cancel" formnovalidate>Cancel</button>
</form>
</section>`,
  );
}
