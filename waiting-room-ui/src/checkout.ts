/**
 * The shopper's turn: the checkout window counting down, the quantity, the Buy button, and
 * then the order until the worker confirms it.
 *
 * A purchase answered 503 or 429, or lost on the network, is sent again with the same
 * admission token: the gateway answers the same order for the same token, so retrying can
 * never buy twice. The order's fate arrives as `order:update`; a slow poll of the order
 * covers a missed event, and a faster one the times the live channel is down.
 */
import { isTransient, shopperApi } from './api.js';
import type { Announcer } from './announcer.js';
import type { ServerClock } from './clock.js';
import { byId, focusHeading, setText, show } from './dom.js';
import type { Admission, CancelReason, CheckoutLink, Order, OrderStatus } from './shapes.js';
import { text } from './shopper-text.js';

export interface CheckoutHost {
  readonly saleId: string;
  readonly clock: ServerClock;
  readonly announcer: Announcer;
  ticket(): string | null;
  live(): boolean;
  /** the purchase cannot happen: the page shows why */
  outcome(kind: 'sold_out' | 'expired' | 'ended'): void;
  /** the server should say where we stand (admission not valid, window over) */
  recheck(): void;
  /** the order exists: the page switches to it */
  ordered(orderId: string, status: OrderStatus | null, quantity: number | null): void;
}

/** the admission token's `max_qty`: what the gateway will accept, whatever the page was told */
function maxQuantityOf(token: string): number | null {
  try {
    const payload = token.split('.')[1] ?? '';
    const json = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as { max_qty?: unknown };
    return typeof json.max_qty === 'number' && json.max_qty >= 1 ? json.max_qty : null;
  } catch {
    return null;
  }
}

export class Checkout {
  private readonly _title = byId('checkout-title');
  private readonly _timer = byId('checkout-timer');
  private readonly _fill = byId('checkout-fill');
  private readonly _form = byId<HTMLFormElement>('buy-form');
  private readonly _quantity = byId<HTMLSelectElement>('quantity');
  private readonly _quantityNote = byId('quantity-note');
  private readonly _buy = byId<HTMLButtonElement>('buy');
  private readonly _error = byId('checkout-error');

  private _admission: Admission | null = null;
  private _windowMs = 1;
  private _busy = false;
  private _retryTimer: ReturnType<typeof setTimeout> | undefined;
  private _expiryTold = false;

  constructor(private readonly host: CheckoutHost) {
    this._form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this._purchase();
    });
  }

  /** a purchase is on its way: its answer, not a broadcast, decides what happens */
  get busy(): boolean {
    return this._busy;
  }

  get token(): string | null {
    return this._admission?.token ?? null;
  }

  open(admission: Admission, maxPerShopper: number, remaining: number | null): void {
    const same = this._admission?.token === admission.token;
    this._admission = admission;
    if (same) return;
    this._windowMs = Math.max(1000, admission.expiresAt - this.host.clock.now());
    this._expiryTold = false;
    this._busy = false;
    clearTimeout(this._retryTimer);
    const max = Math.max(1, Math.min(maxQuantityOf(admission.token) ?? maxPerShopper, remaining && remaining > 0 ? remaining : Infinity));
    this._setQuantities(max);
    this._buy.disabled = false;
    setText(this._buy, text.t('buyNow'));
    show(this._error, false);
    this.tick();
    focusHeading(this._title);
    this.host.announcer.now(text.t('turnSay', { duration: text.duration(admission.expiresAt - this.host.clock.now()) }));
  }

  close(): void {
    this._admission = null;
    this._busy = false;
    clearTimeout(this._retryTimer);
  }

  /** called a few times a second while the panel is shown */
  tick(): void {
    const a = this._admission;
    if (!a) return;
    const left = a.expiresAt - this.host.clock.now();
    setText(this._timer, text.countdown(left));
    this._timer.setAttribute('datetime', `PT${Math.max(0, Math.ceil(left / 1000))}S`);
    this._fill.style.transform = `scaleX(${Math.max(0, Math.min(1, left / this._windowMs))})`;
    this._timer.classList.toggle('urgent', left < 30_000);
    if (left <= 30_000 && left > 0 && !this._expiryTold && !this._busy) {
      this._expiryTold = true;
      this.host.announcer.now(text.t('thirtySecondsSay'));
    }
    if (left <= 0 && !this._busy) {
      // the server decides: it may have taken the order a moment ago
      this._admission = null;
      this.host.recheck();
    }
  }

  private _setQuantities(max: number): void {
    const previous = Number(this._quantity.value) || 1;
    this._quantity.replaceChildren();
    for (let q = 1; q <= max; q++) {
      const o = document.createElement('option');
      o.value = String(q);
      o.textContent = text.count(q);
      this._quantity.append(o);
    }
    this._quantity.value = String(Math.min(previous, max));
    this._quantity.disabled = max === 1;
    setText(this._quantityNote, max === 1 ? text.t('onePerShopper') : text.t('upToPerShopper', { max }));
  }

  private _problem(words: string | null): void {
    show(this._error, words !== null);
    if (words !== null) {
      setText(this._error, words);
      this.host.announcer.now(words);
    }
  }

  private async _purchase(): Promise<void> {
    const a = this._admission;
    if (!a || this._busy) return;
    this._busy = true;
    this._buy.disabled = true;
    setText(this._buy, text.t('placingOrder'));
    const quantity = Number(this._quantity.value) || 1;
    const r = await shopperApi.purchase(this.host.saleId, a.token, quantity);
    if (this._admission !== a) return; // the page moved on meanwhile
    if (r.ok) {
      this._busy = false;
      this.host.ordered(r.value.orderId, r.value.status, quantity);
      return;
    }
    const again = () => {
      this._busy = false;
      this._buy.disabled = false;
      setText(this._buy, text.t('buyNow'));
    };
    if (isTransient(r)) {
      const left = a.expiresAt - this.host.clock.now();
      // the same token again is safe: it can only ever make one order
      const wait = Math.min(Math.max(500, r.retryAfterMs ?? 1000) * (0.8 + Math.random() * 0.4), 10_000);
      if (left + 5_000 < wait) {
        again();
        this.host.recheck();
        return;
      }
      show(this._error, true);
      setText(
        this._error,
        text.t(r.status === 0 ? 'retryUnreachable' : r.code === 'SALE_SUSPENDED' ? 'retrySuspended' : 'retryBusy', {
          seconds: text.seconds(wait),
        }),
      );
      this._retryTimer = setTimeout(() => {
        this._busy = false;
        void this._purchase();
      }, wait);
      return;
    }
    again();
    switch (r.code) {
      case 'SOLD_OUT':
        this.host.outcome('sold_out');
        return;
      case 'SALE_ENDED':
        this.host.outcome('ended');
        return;
      case 'TOKEN_EXPIRED':
        this.host.outcome('expired');
        return;
      case 'NOT_ADMITTED':
      case 'INVALID_TOKEN':
      case 'WRONG_SALE':
        this.host.recheck();
        return;
      case 'INSUFFICIENT_STOCK': {
        const remaining = typeof r.body.remaining === 'number' ? r.body.remaining : 1;
        this._setQuantities(Math.max(1, remaining));
        this._problem(text.t(remaining === 1 ? 'onlyLeftOne' : 'onlyLeftOther', { remaining }));
        return;
      }
      case 'QUANTITY_OUT_OF_RANGE':
        this._problem(text.t('quantityTooBig'));
        return;
      default:
        this._problem(text.t('orderFailed', { code: r.code }));
    }
  }
}

/** how far an order has gone: it never goes back (a late event or a stale poll is ignored) */
const ORDER_STEP: Record<OrderStatus, number> = { pending: 0, confirmed: 1, rejected: 2, paid: 2, cancelled: 2 };

/** once per order and tab: a shopper who comes back from the shop unpaid is not sent there again */
function handedOffBefore(orderId: string): boolean {
  const key = `vr-handoff:${orderId}`;
  try {
    if (sessionStorage.getItem(key) !== null) return true;
    sessionStorage.setItem(key, String(Date.now()));
  } catch {
    // storage refused (private mode): hand off each time, the link stays on the page anyway
  }
  return false;
}

/**
 * The order after the purchase: pending until the worker commits it. Live `order:update`
 * settles it; a poll of `GET /api/orders/:id` catches an event missed while disconnected.
 *
 * A sale that hands orders to the shop (issue 14): once confirmed, the order carries the
 * shop's checkout link (`checkout.url`, with the order and its token in the query) and the
 * payment deadline. The page sends the shopper there once, keeps a button to it while the
 * window lasts, and shows what became of it: paid, or cancelled (declined at the shop, or the
 * window ran out, its unit back on sale).
 */
export class OrderWatch {
  private readonly _title = byId('order-title');
  private readonly _status = byId('order-status');
  private readonly _detail = byId('order-detail');
  private readonly _action = byId('order-action');
  private readonly _toCheckout = byId<HTMLAnchorElement>('to-checkout');
  private readonly _due = byId('order-due');
  private _orderId: string | null = null;
  private _state: OrderStatus | null = null;
  private _quantity: number | null = null;
  private _checkout: CheckoutLink | null = null;
  private _dueAt: number | null = null;
  private _cancelReason: CancelReason | null = null;
  /** the order's details were read (a live event says only the status) */
  private _known = false;
  private _timer: ReturnType<typeof setTimeout> | undefined;
  private _polls = 0;

  constructor(
    private readonly host: CheckoutHost,
    /** where the shopper's browser goes (a test or an embedding page may watch instead) */
    private readonly navigate: (url: string) => void = (url) => window.location.assign(url),
  ) {}

  get orderId(): string | null {
    return this._orderId;
  }

  watch(orderId: string, status: OrderStatus | null, quantity: number | null, focus: boolean): void {
    const changed = this._orderId !== orderId;
    this._orderId = orderId;
    if (quantity !== null) this._quantity = quantity;
    if (changed) {
      this._state = null;
      this._polls = 0;
      this._known = false;
      this._checkout = null;
      this._dueAt = null;
      this._cancelReason = null;
    }
    this.update(orderId, status ?? this._state ?? 'pending', !changed);
    if (focus) focusHeading(this._title);
    if (status === null) this._poll(0);
  }

  /** an order status from any source (live event, poll, purchase answer) */
  update(orderId: string, status: OrderStatus, quiet = false): void {
    if (orderId !== this._orderId) return;
    const first = this._state === null;
    if (status === this._state) return;
    if (this._state !== null && ORDER_STEP[status] <= ORDER_STEP[this._state]) return;
    this._state = status;
    this._render();
    if (status === 'pending') {
      if (!quiet && first) this.host.announcer.now(text.t('orderPendingSay'));
      this._poll(this.host.live() ? 5_000 : 1_500);
      return;
    }
    if (status === 'confirmed' && !this._known) {
      // a live event says only "confirmed": read the order to learn whether the shop takes it from here
      this._poll(0);
      return;
    }
    this._settled();
  }

  /** the order as read from the gateway: its status and its hand-off */
  private _read(o: Order): void {
    if (o.orderId !== this._orderId) return;
    if (o.quantity !== null) this._quantity = o.quantity;
    const before = this._state;
    if (before !== null && ORDER_STEP[o.status] < ORDER_STEP[before]) return;
    const wasKnown = this._known;
    this._known = true;
    this._checkout = o.checkout;
    this._dueAt = o.paymentDueAt;
    this._cancelReason = o.cancelReason;
    if (o.status !== before) {
      this.update(o.orderId, o.status);
      return;
    }
    this._render();
    if (!wasKnown && o.status !== 'pending') this._settled();
  }

  /** the order left pending: say so, hand off to the shop or stop polling */
  private _settled(): void {
    clearTimeout(this._timer);
    const s = this._state;
    if (s === 'confirmed' && this._checkout) {
      this.host.announcer.now(text.t('payAtShopSay'));
      const url = this._checkout.url;
      if (!handedOffBefore(this._orderId!)) this.navigate(url);
      // staying (or back from the shop unpaid): learn whether it was paid, and again just after the deadline
      const untilDue = this._dueAt === null ? Infinity : this._dueAt - this.host.clock.now() + 1_500;
      this._poll(Math.max(1_000, Math.min(untilDue, this.host.live() ? 30_000 : 5_000)));
      return;
    }
    if (s === 'confirmed') this.host.announcer.now(text.t('confirmedSay'));
    else if (s === 'paid') this.host.announcer.now(text.t('paidSay'));
    else if (s === 'cancelled')
      this.host.announcer.now(text.t(this._cancelReason === 'payment_timeout' ? 'paymentTimeoutSay' : 'cancelledSay'));
    else this.host.announcer.now(text.t('rejectedSay'));
  }

  /** the live channel went down or came back: poll faster or slower */
  liveChanged(): void {
    if (this._state === 'pending') this._poll(this.host.live() ? 5_000 : 1_000);
  }

  /** once a second: the payment countdown */
  tick(): void {
    if (this._state !== 'confirmed' || this._dueAt === null || !this._checkout) return;
    const left = this._dueAt - this.host.clock.now();
    setText(
      this._due,
      left > 0 ? text.t('payWithin', { countdown: text.countdown(left), duration: text.duration(left) }) : text.t('payTimeUp'),
    );
    show(this._action, left > 0);
  }

  private _poll(delayMs: number): void {
    clearTimeout(this._timer);
    this._timer = setTimeout(async () => {
      const id = this._orderId;
      if (!id) return;
      const r = await shopperApi.order(id, this.host.ticket());
      this._polls++;
      if (r.ok) {
        this._read(r.value);
        if (r.value.status !== 'pending') return;
      }
      const base = this.host.live() ? 5_000 : Math.min(1_000 * 1.5 ** this._polls, 5_000);
      this._poll(r.ok ? base : Math.max(base, r.retryAfterMs ?? 2_000));
    }, delayMs);
  }

  private _render(): void {
    const s = this._state;
    const ref = this._orderId ? this._orderId.slice(0, 8).toUpperCase() : '';

    const card = this._title.closest('section');
    card?.setAttribute('data-order', s ?? 'pending');
    const handOff = s === 'confirmed' && this._checkout !== null;
    if (handOff) {
      this._toCheckout.href = this._checkout!.url;
      setText(this._title, text.t('payAtShopTitle'));
      setText(this._status, text.t('payAtShopText'));
    } else if (s === 'confirmed') {
      setText(this._title, text.t('confirmedTitle'));
      setText(this._status, text.t(this._known ? 'confirmedClose' : 'confirmedText'));
    } else if (s === 'paid') {
      setText(this._title, text.t('paidTitle'));
      setText(this._status, text.t('paidText'));
    } else if (s === 'cancelled') {
      setText(this._title, text.t('cancelledTitle'));
      setText(this._status, text.t(this._cancelReason === 'payment_timeout' ? 'paymentTimeoutText' : 'cancelledText'));
    } else if (s === 'rejected') {
      setText(this._title, text.t('rejectedTitle'));
      setText(this._status, text.t('rejectedText'));
    } else {
      setText(this._title, text.t('orderPlacedTitle'));
      setText(this._status, text.t('pendingText'));
    }
    show(this._action, handOff);
    if (!handOff) setText(this._due, '');
    else this.tick();
    setText(
      this._detail,
      this._quantity === null
        ? text.t('orderRef', { ref })
        : text.t('orderRefUnits', { ref, units: text.plural(this._quantity, 'unitsOne', 'unitsOther') }),
    );
  }
}
