/**
 * The waiting room for a browser without JavaScript (issue 16 item 9): plain HTML the gateway
 * renders, refreshed by `<meta http-equiv="refresh">` at the interval the status API advises
 * (`retryAfterMs`). Pure: the routes (routes/no-script.ts) gather what it shows. Everything
 * that comes from outside (the sale's name, the notice, ids) goes through `escapeHtml`.
 *
 * Every word comes from the shopper page's catalogue in the shopper's language (issue 15
 * item 5: pages/page-texts.ts), with the page's `lang` and `dir`; so do the refusals, the
 * sign-in's included.
 */
import type { ErrorCode, Notice } from '@velvet-rope/contracts';
import type { VisitorStatus } from '../queue/queue-service.js';
import type { PageText, PageTextKey } from './page-texts.js';

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

/** how a page looks and speaks: the shopper's language, the waiting room's stylesheets (and the brand's) */
export interface PageLook {
  readonly text: PageText;
  readonly styles: readonly string[];
  /** `?lang=xx` when the address chose the language (forms and refreshes keep it), else '' */
  readonly langQuery: string;
}

export interface PageParts {
  readonly title: string;
  readonly state: string;
  readonly body: string;
  readonly refresh: number | null;
  /** where the refresh goes: the page itself when absent (never after a POST: the browser would not post again) */
  readonly refreshUrl?: string;
  readonly notice: Notice | null;
}

/** a whole document: the notice first, where it is read first */
export function renderDocument(p: PageParts, look: PageLook): string {
  const { text } = look;
  const target = p.refreshUrl === undefined ? '' : `; url=${escapeHtml(p.refreshUrl)}`;
  const refresh = p.refresh === null ? '' : `<meta http-equiv="refresh" content="${p.refresh}${target}">`;
  const styles = look.styles.map((href) => `<link rel="stylesheet" href="${escapeHtml(href)}">`).join('');
  return (
    `<!doctype html><html lang="${escapeHtml(text.lang)}" dir="${text.dir}"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light">` +
    `${refresh}<title>${escapeHtml(p.title)}</title><link rel="icon" href="data:,">${styles}</head>` +
    `<body data-state="${escapeHtml(p.state)}" data-refresh="${p.refresh ?? ''}"><main id="main" class="page">` +
    `<header class="masthead"><p class="eyebrow">${escapeHtml(text.t('eyebrow'))}</p><h1 dir="auto">${escapeHtml(p.title)}</h1></header>` +
    noticeBlock(p.notice, text) +
    p.body +
    (p.refresh === null
      ? ''
      : `<p class="muted small" id="refresh-note">${escapeHtml(text.t('refreshNote', { seconds: text.unit(p.refresh, 'second') }))}</p>`) +
    `</main></body></html>`
  );
}

/**
 * The marketer's notice: without JavaScript nothing is live, so it is a status (or, for a
 * warning, an alert) that a screen reader reads as the page loads.
 */
export function noticeBlock(notice: Notice | null, text: PageText): string {
  if (!notice) return '';
  const role = notice.level === 'warning' ? 'alert' : 'status';
  const lines = notice.message.split('\n').map(escapeHtml).join('<br>');
  const label = text.t(notice.level === 'warning' ? 'importantLabel' : 'noticeLabel');
  return `<div id="notice" class="notice notice-${notice.level}" role="${role}"><p><strong>${escapeHtml(label)}</strong><span dir="auto">${lines}</span></p></div>`;
}

const joinForm = (saleId: string, label: string, langQuery: string) =>
  `<form method="post" action="/sales/${encodeURIComponent(saleId)}/join${langQuery}"><button id="join" type="submit" class="primary">${escapeHtml(label)}</button></form>`;

function etaText(seconds: number | null, text: PageText): string {
  if (seconds === null) return text.t('progressUnknown');
  if (seconds < 60) return text.t('etaUnderMinute');
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return text.t('etaAbout', { duration: text.unit(minutes, 'minute') });
  return text.t('etaAbout', { duration: text.unit(Math.round(minutes / 60), 'hour') });
}

const card = (h2: string, body: string, accent = false) =>
  `<section class="card${accent ? ' card-accent' : ''}"><h2>${escapeHtml(h2)}</h2>${body}</section>`;
const para = (text: string, id?: string) => `<p${id ? ` id="${id}"` : ''}>${escapeHtml(text)}</p>`;

/** The wait page: the shopper's standing, a buy form at their turn, their order after. */
export function renderWaitPage(sale: PageSale, view: WaitView, notice: Notice | null, look: PageLook): string {
  const { text, langQuery } = look;
  const id = encodeURIComponent(sale.id);
  const page = (state: string, body: string, refresh: number | null) =>
    renderDocument({ title: sale.name, state, body, refresh, notice }, look);
  if (view.kind === 'not-joined') {
    return page(
      'not-joined',
      card(text.t('noScriptJoin'), para(text.t('notJoinedText')) + joinForm(sale.id, text.t('noScriptJoin'), langQuery)),
      null,
    );
  }
  const refresh = refreshSeconds(view.retryAfterMs);
  switch (view.status) {
    case 'prequeue':
      return page(
        'prequeue',
        card(
          text.t('inPrequeue'),
          para(text.t('noteRandom')) +
            `<p>${escapeHtml(text.t('waitingLabel'))}: <strong id="waiting">${text.count(view.waiting)}</strong></p>`,
        ),
        refresh,
      );
    case 'queued': {
      const position = view.position ?? 0;
      const figure = (label: PageTextKey, id: string, value: string, main = false) =>
        `<div class="figure${main ? ' figure-main' : ''}"><dt>${escapeHtml(text.t(label))}</dt><dd id="${id}"${main ? ' class="big-number"' : ''}>${escapeHtml(value)}</dd></div>`;
      return page(
        'queued',
        card(
          text.t('queueTitle'),
          `<dl class="figures">` +
            figure('positionLabel', 'position', text.count(position), true) +
            figure('aheadLabel', 'ahead', text.count(Math.max(0, position - 1))) +
            figure('etaLabel', 'eta', etaText(view.etaSeconds, text)) +
            figure('waitingLabel', 'waiting', text.count(view.waiting)) +
            `</dl><p class="muted">${escapeHtml(text.t('keepsPlace'))}</p>`,
        ),
        refresh,
      );
    }
    case 'admitted': {
      const options = Array.from(
        { length: Math.max(1, sale.maxPerShopper) },
        (_, i) => `<option value="${i + 1}">${escapeHtml(text.count(i + 1))}</option>`,
      ).join('');
      const closes = view.expiresAt
        ? `<p>${escapeHtml(text.t('closesAt', { time: '\u0000' })).replace(
            '\u0000',
            `<time id="expires" datetime="${escapeHtml(view.expiresAt)}">${escapeHtml(text.utcTime(view.expiresAt))}</time>`,
          )}</p>`
        : para(text.t('closesSoon'));
      return page(
        'admitted',
        card(
          text.t('checkoutTitle'),
          closes +
            `<form method="post" action="/sales/${id}/buy${langQuery}" class="buy-form"><div class="field"><label for="quantity">${escapeHtml(text.t('quantityLabel'))}</label>` +
            `<select id="quantity" name="quantity">${options}</select></div><button id="buy" type="submit" class="primary">${escapeHtml(text.t('buyNow'))}</button></form>`,
          true,
        ),
        refresh,
      );
    }
    case 'ordered':
      return orderPage(view.order, page, text);
    case 'expired':
      return page(
        'expired',
        card(text.t('expiredTitle'), para(text.t('expiredText')) + joinForm(sale.id, text.t('joinAgain'), langQuery)),
        null,
      );
    case 'sold_out':
      return page('sold_out', card(text.t('soldOutTitle'), para(text.t('soldOutText'))), null);
    case 'ended':
      return page('ended', card(text.t('endedTitle'), para(text.t('endedText'))), null);
  }
}

function orderPage(
  order: PageOrder | undefined,
  page: (state: string, body: string, refresh: number | null) => string,
  text: PageText,
): string {
  /** the order's reference, its id a code element */
  const reference = (o: PageOrder, withUnits: boolean) => {
    const ref = '\u0000';
    const line = withUnits
      ? text.t('orderRefUnits', { ref, units: text.plural(o.quantity, 'unitsOne', 'unitsOther') })
      : text.t('orderRef', { ref });
    return `<p class="muted small">${escapeHtml(line).replace(ref, `<code id="order-id">${escapeHtml(o.orderId)}</code>`)}</p>`;
  };
  if (!order || order.status === 'pending') {
    return page(
      'pending',
      card(text.t('orderPlacedTitle'), para(text.t('pendingText'), 'order-status') + (order ? reference(order, false) : '')),
      2,
    );
  }
  const ref = reference(order, true);
  switch (order.status) {
    case 'confirmed': {
      if (order.checkoutUrl) {
        const next = `<p><a id="to-checkout" class="button primary" href="${escapeHtml(order.checkoutUrl)}">${escapeHtml(text.t('toCheckout'))}</a></p>`;
        return page('confirmed', card(text.t('payAtShopTitle'), para(text.t('payAtShopText'), 'order-status') + next + ref, true), null);
      }
      return page('confirmed', card(text.t('confirmedTitle'), para(text.t('confirmedText'), 'order-status') + ref, true), null);
    }
    case 'paid':
      return page('paid', card(text.t('paidTitle'), para(text.t('paidText'), 'order-status') + ref, true), null);
    case 'rejected':
      return page('rejected', card(text.t('rejectedTitle'), para(text.t('rejectedText'), 'order-status') + ref), null);
    case 'cancelled':
      return page('cancelled', card(text.t('cancelledTitle'), para(text.t('cancelledText'), 'order-status') + ref), null);
  }
}

/** what a refusal says to the shopper, by its stable code (the message is the API's, in English, for clients) */
const PROBLEM_TEXTS: Partial<Record<ErrorCode, PageTextKey>> = {
  POW_REQUIRED: 'problemPow',
  RATE_LIMITED: 'problemBusy',
  UNAVAILABLE: 'problemUnavailable',
  FORBIDDEN_ORIGIN: 'problemForbiddenOrigin',
  NOT_ADMITTED: 'problemNotAdmitted',
  SIGN_IN_STATE_INVALID: 'problemSignInAgain',
  SIGN_IN_FAILED: 'problemSignInAgain',
  SIGN_IN_DENIED: 'problemSignInDenied',
  INVALID_RETURN_PATH: 'problemReturnPath',
  IDENTITY_PROVIDER_UNAVAILABLE: 'problemProviderDown',
  SALE_NOT_FOUND: 'notFoundText',
  SALE_SUSPENDED: 'maintenanceText',
  QUEUE_FULL: 'queueFullText',
  IDENTITY_REQUIRED: 'signInToJoinText',
  INVALID_IDENTITY: 'linkExpiredText',
  NOT_INVITED: 'inviteOnlyText',
  SOLD_OUT: 'soldOutText',
  SALE_ENDED: 'endedText',
  SALE_NOT_OPEN: 'lineOpensSoon',
  QUANTITY_OUT_OF_RANGE: 'quantityTooBig',
  INSUFFICIENT_STOCK: 'quantityTooBig',
};

/** the catalogue's text for a refusal (any code without its own text: the generic one, naming the code) */
export function problemText(code: string, text: PageText): string {
  const key = PROBLEM_TEXTS[code as ErrorCode];
  return key ? text.t(key) : text.t('problemGeneric', { code });
}

/** A refusal as a page: what went wrong, when to try again, the way back. */
export function renderProblemPage(
  sale: { id: string; name: string } | null,
  problem: { code: string; retryAfterSeconds?: number; signInUrl?: string },
  notice: Notice | null,
  look: PageLook,
): string {
  const { text } = look;
  const wait = sale ? `/sales/${encodeURIComponent(sale.id)}/wait${look.langQuery}` : undefined;
  const back = wait ? `<p><a href="${escapeHtml(wait)}">${escapeHtml(text.t('backToPlace'))}</a></p>` : '';
  const signIn = problem.signInUrl
    ? `<p><a id="sign-in" class="button primary" href="${escapeHtml(problem.signInUrl)}">${escapeHtml(text.t('signIn'))}</a></p>`
    : '';
  return renderDocument(
    {
      title: sale?.name ?? text.t('pageTitle'),
      state: 'problem',
      body: card(
        text.t('problemTitle'),
        `<p id="problem" data-code="${escapeHtml(problem.code)}">${escapeHtml(problemText(problem.code, text))}</p>${signIn}${back}`,
      ),
      // a retry goes back to the place by itself; a sign-in that failed at the provider is not
      // retried by itself (every few seconds through a failing provider, spending the sign-in
      // limit of everyone behind the address): the shopper signs in afresh with the button
      refresh: wait || !problem.signInUrl ? (problem.retryAfterSeconds ?? null) : null,
      ...(wait ? { refreshUrl: wait } : {}),
      notice,
    },
    look,
  );
}
