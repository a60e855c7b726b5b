/**
 * The waiting room for a browser without JavaScript (issue 16 item 9): plain HTML the gateway
 * renders, refreshed by `<meta http-equiv="refresh">` at the interval the status API advises
 * (`retryAfterMs`). Pure: the routes (routes/no-script.ts) gather what it shows. Everything
 * that comes from outside (the sale's name, the notice, ids) goes through `escapeHtml`.
 */
import type { Notice } from '@velvet-rope/contracts';
import type { VisitorStatus } from '../queue/queue-service.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe inside an element or a double- or single-quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** whole seconds for the meta refresh: never under one (a page that reloads in a loop) */
export function refreshSeconds(retryAfterMs: number | null): number | null {
  return retryAfterMs === null ? null : Math.max(1, Math.ceil(retryAfterMs / 1000));
}

export interface PageSale {
  readonly id: string;
  readonly name: string;
  readonly maxPerShopper: number;
}

export interface PageOrder {
  readonly orderId: string;
  readonly status: 'pending' | 'confirmed' | 'rejected' | 'paid' | 'cancelled';
  readonly quantity: number;
  readonly checkoutUrl?: string;
}

/** What the wait page shows: where the shopper stands (as `/queue/me` answers it), or that they hold no place. */
export type WaitView =
  | { readonly kind: 'not-joined' }
  | {
      readonly kind: 'standing';
      readonly status: VisitorStatus;
      readonly position: number | null;
      readonly waiting: number;
      readonly etaSeconds: number | null;
      readonly retryAfterMs: number | null;
      readonly expiresAt?: string;
      readonly order?: PageOrder;
    };

export interface PageParts {
  readonly title: string;
  readonly state: string;
  readonly body: string;
  readonly refresh: number | null;
  /** where the refresh goes: the page itself when absent (never after a POST: the browser would not post again) */
  readonly refreshUrl?: string;
  readonly notice: Notice | null;
  /** the waiting room's stylesheets (the built page's own) */
  readonly styles: readonly string[];
}

/** a whole document: the notice first, where it is read first */
export function renderDocument(p: PageParts): string {
  const target = p.refreshUrl === undefined ? '' : `; url=${escapeHtml(p.refreshUrl)}`;
  const refresh = p.refresh === null ? '' : `<meta http-equiv="refresh" content="${p.refresh}${target}">`;
  const styles = p.styles.map((href) => `<link rel="stylesheet" href="${escapeHtml(href)}">`).join('');
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light">` +
    `${refresh}<title>${escapeHtml(p.title)}</title><link rel="icon" href="data:,">${styles}</head>` +
    `<body data-state="${escapeHtml(p.state)}" data-refresh="${p.refresh ?? ''}"><main id="main" class="page">` +
    `<header class="masthead"><p class="eyebrow">Waiting room</p><h1>${escapeHtml(p.title)}</h1></header>` +
    noticeBlock(p.notice) +
    p.body +
    (p.refresh === null
      ? ''
      : `<p class="muted small" id="refresh-note">This page refreshes by itself every ${count(p.refresh, 'second')}. Keep it open.</p>`) +
    `</main></body></html>`
  );
}

/**
 * The marketer's notice: without JavaScript nothing is live, so it is a status (or, for a
 * warning, an alert) that a screen reader reads as the page loads.
 */
export function noticeBlock(notice: Notice | null): string {
  if (!notice) return '';
  const role = notice.level === 'warning' ? 'alert' : 'status';
  const lines = notice.message.split('\n').map(escapeHtml).join('<br>');
  return `<div id="notice" class="notice notice-${notice.level}" role="${role}"><p><strong>${notice.level === 'warning' ? 'Important: ' : 'Notice: '}</strong>${lines}</p></div>`;
}

const joinForm = (saleId: string, label: string) =>
  `<form method="post" action="/sales/${encodeURIComponent(saleId)}/join"><button id="join" type="submit" class="primary">${escapeHtml(label)}</button></form>`;

const count = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;

function etaText(seconds: number | null): string {
  if (seconds === null) return 'not known yet';
  if (seconds < 60) return `under a minute`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `about ${count(minutes, 'minute')}`;
  return `about ${count(Math.round(minutes / 60), 'hour')}`;
}

/** The wait page: the shopper's standing, a buy form at their turn, their order after. */
export function renderWaitPage(sale: PageSale, view: WaitView, notice: Notice | null, styles: readonly string[]): string {
  const id = encodeURIComponent(sale.id);
  const page = (state: string, body: string, refresh: number | null) =>
    renderDocument({ title: sale.name, state, body, refresh, notice, styles });
  if (view.kind === 'not-joined') {
    return page(
      'not-joined',
      `<section class="card"><h2>Join the line</h2><p>You do not hold a place in this sale's line yet.</p>${joinForm(sale.id, 'Join the line')}</section>`,
      null,
    );
  }
  const refresh = refreshSeconds(view.retryAfterMs);
  switch (view.status) {
    case 'prequeue':
      return page(
        'prequeue',
        `<section class="card"><h2>Your place is saved</h2><p>The sale has not started yet. When it starts, everyone who is already here is put in line in a random order, so there is no need to hurry.</p><p>People waiting: <strong id="waiting">${view.waiting}</strong></p></section>`,
        refresh,
      );
    case 'queued': {
      const position = view.position ?? 0;
      return page(
        'queued',
        `<section class="card"><h2>You're in line</h2><dl class="figures">` +
          `<div class="figure figure-main"><dt>Your place in line</dt><dd id="position" class="big-number">${position}</dd></div>` +
          `<div class="figure"><dt>Ahead of you</dt><dd id="ahead">${Math.max(0, position - 1)}</dd></div>` +
          `<div class="figure"><dt>Estimated wait</dt><dd id="eta">${escapeHtml(etaText(view.etaSeconds))}</dd></div>` +
          `<div class="figure"><dt>Waiting in all</dt><dd id="waiting">${view.waiting}</dd></div>` +
          `</dl><p class="muted">Refreshing or coming back to this page keeps your place.</p></section>`,
        refresh,
      );
    }
    case 'admitted': {
      const options = Array.from({ length: Math.max(1, sale.maxPerShopper) }, (_, i) => `<option value="${i + 1}">${i + 1}</option>`).join(
        '',
      );
      const until = view.expiresAt
        ? `<time id="expires" datetime="${escapeHtml(view.expiresAt)}">${escapeHtml(clockTime(view.expiresAt))}</time>`
        : 'soon';
      return page(
        'admitted',
        `<section class="card card-accent"><h2>It's your turn</h2><p>Your checkout window closes at ${until} (UTC).</p>` +
          `<form method="post" action="/sales/${id}/buy" class="buy-form"><div class="field"><label for="quantity">Quantity</label>` +
          `<select id="quantity" name="quantity">${options}</select></div><button id="buy" type="submit" class="primary">Buy now</button></form></section>`,
        refresh,
      );
    }
    case 'ordered':
      return orderPage(view.order, page);
    case 'expired':
      return page(
        'expired',
        `<section class="card"><h2>Your turn has passed</h2><p>Your checkout window closed before an order was placed. You may join the line again, at the back.</p>${joinForm(sale.id, 'Join again')}</section>`,
        null,
      );
    case 'sold_out':
      return page(
        'sold_out',
        `<section class="card"><h2>Sold out</h2><p>Every unit has been sold. Thank you for waiting.</p></section>`,
        null,
      );
    case 'ended':
      return page('ended', `<section class="card"><h2>The sale has ended</h2><p>This sale is over.</p></section>`, null);
  }
}

function orderPage(order: PageOrder | undefined, page: (state: string, body: string, refresh: number | null) => string): string {
  if (!order || order.status === 'pending') {
    const ref = order ? `<p class="muted small">Order <code id="order-id">${escapeHtml(order.orderId)}</code></p>` : '';
    return page(
      'pending',
      `<section class="card"><h2>Order placed</h2><p id="order-status">We are confirming your order…</p>${ref}</section>`,
      2,
    );
  }
  const ref = `<p class="muted small">Order <code id="order-id">${escapeHtml(order.orderId)}</code>, ${count(order.quantity, 'unit')}</p>`;
  switch (order.status) {
    case 'confirmed': {
      const next = order.checkoutUrl
        ? `<p><a id="to-checkout" class="button primary" href="${escapeHtml(order.checkoutUrl)}">Go to the shop’s checkout</a></p>`
        : '';
      return page(
        'confirmed',
        `<section class="card card-accent"><h2>Order confirmed</h2><p id="order-status">Your order is confirmed.</p>${next}${ref}</section>`,
        null,
      );
    }
    case 'paid':
      return page(
        'paid',
        `<section class="card card-accent"><h2>Order paid</h2><p id="order-status">Your order is paid. Thank you.</p>${ref}</section>`,
        null,
      );
    case 'rejected':
      return page(
        'rejected',
        `<section class="card"><h2>Order not accepted</h2><p id="order-status">Sorry: the order could not be accepted (the units ran out).</p>${ref}</section>`,
        null,
      );
    case 'cancelled':
      return page(
        'cancelled',
        `<section class="card"><h2>Order cancelled</h2><p id="order-status">This order was cancelled.</p>${ref}</section>`,
        null,
      );
  }
}

/** A refusal as a page: what went wrong, when to try again, the way back. */
export function renderProblemPage(
  sale: { id: string; name: string } | null,
  problem: { code: string; message: string; retryAfterSeconds?: number },
  notice: Notice | null,
  styles: readonly string[],
): string {
  const explanation =
    problem.code === 'POW_REQUIRED'
      ? 'This sale asks each browser to solve a small puzzle before it joins the line, to keep bots out, and solving it needs JavaScript. Turn JavaScript on for this site, or use a browser that has it, to join.'
      : problem.message;
  const back = sale ? `<p><a href="/sales/${encodeURIComponent(sale.id)}/wait">Back to your place</a></p>` : '';
  return renderDocument({
    title: sale?.name ?? 'Waiting room',
    state: 'problem',
    body: `<section class="card"><h2>We could not do that</h2><p id="problem" data-code="${escapeHtml(problem.code)}">${escapeHtml(explanation)}</p>${back}</section>`,
    refresh: problem.retryAfterSeconds ?? null,
    ...(sale ? { refreshUrl: `/sales/${encodeURIComponent(sale.id)}/wait` } : {}),
    notice,
    styles,
  });
}

function clockTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().slice(11, 19);
}
