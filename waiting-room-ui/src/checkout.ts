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
import type { Admission, OrderStatus } from './shapes.js';
import { countdown, spokenDuration } from './time-format.js';

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
  readonly #title = byId('checkout-title');
  readonly #timer = byId('checkout-timer');
  readonly #fill = byId('checkout-fill');
  readonly #form = byId<HTMLFormElement>('buy-form');
  readonly #quantity = byId<HTMLSelectElement>('quantity');
  readonly #quantityNote = byId('quantity-note');
  readonly #buy = byId<HTMLButtonElement>('buy');
  readonly #error = byId('checkout-error');

  #admission: Admission | null = null;
  #windowMs = 1;
  #busy = false;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #expiryTold = false;

  constructor(private readonly host: CheckoutHost) {
    this.#form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.#purchase();
    });
  }

  /** a purchase is on its way: its answer, not a broadcast, decides what happens */
  get busy(): boolean {
    return this.#busy;
  }

  get token(): string | null {
    return this.#admission?.token ?? null;
  }

  open(admission: Admission, maxPerShopper: number, remaining: number | null): void {
    const same = this.#admission?.token === admission.token;
    this.#admission = admission;
    if (same) return;
    this.#windowMs = Math.max(1000, admission.expiresAt - this.host.clock.now());
    this.#expiryTold = false;
    this.#busy = false;
    clearTimeout(this.#retryTimer);
    const max = Math.max(1, Math.min(maxQuantityOf(admission.token) ?? maxPerShopper, remaining && remaining > 0 ? remaining : Infinity));
    this.#setQuantities(max);
    this.#buy.disabled = false;
    setText(this.#buy, 'Buy now');
    show(this.#error, false);
    this.tick();
    focusHeading(this.#title);
    this.host.announcer.now(
      `It's your turn. You have ${spokenDuration(admission.expiresAt - this.host.clock.now())} to buy. Choose a quantity and press Buy now.`,
    );
  }

  close(): void {
    this.#admission = null;
    this.#busy = false;
    clearTimeout(this.#retryTimer);
  }

  /** called a few times a second while the panel is shown */
  tick(): void {
    const a = this.#admission;
    if (!a) return;
    const left = a.expiresAt - this.host.clock.now();
    setText(this.#timer, countdown(left));
    this.#timer.setAttribute('datetime', `PT${Math.max(0, Math.ceil(left / 1000))}S`);
    this.#fill.style.transform = `scaleX(${Math.max(0, Math.min(1, left / this.#windowMs))})`;
    this.#timer.classList.toggle('urgent', left < 30_000);
    if (left <= 30_000 && left > 0 && !this.#expiryTold && !this.#busy) {
      this.#expiryTold = true;
      this.host.announcer.now('30 seconds left to buy.');
    }
    if (left <= 0 && !this.#busy) {
      // the server decides: it may have taken the order a moment ago
      this.#admission = null;
      this.host.recheck();
    }
  }

  #setQuantities(max: number): void {
    const previous = Number(this.#quantity.value) || 1;
    this.#quantity.replaceChildren();
    for (let q = 1; q <= max; q++) {
      const o = document.createElement('option');
      o.value = String(q);
      o.textContent = String(q);
      this.#quantity.append(o);
    }
    this.#quantity.value = String(Math.min(previous, max));
    this.#quantity.disabled = max === 1;
    setText(this.#quantityNote, max === 1 ? 'One per shopper.' : `Up to ${max} per shopper.`);
  }

  #problem(text: string | null): void {
    show(this.#error, text !== null);
    if (text !== null) {
      setText(this.#error, text);
      this.host.announcer.now(text);
    }
  }

  async #purchase(): Promise<void> {
    const a = this.#admission;
    if (!a || this.#busy) return;
    this.#busy = true;
    this.#buy.disabled = true;
    setText(this.#buy, 'Placing your order…');
    const quantity = Number(this.#quantity.value) || 1;
    const r = await shopperApi.purchase(this.host.saleId, a.token, quantity);
    if (this.#admission !== a) return; // the page moved on meanwhile
    if (r.ok) {
      this.#busy = false;
      this.host.ordered(r.value.orderId, r.value.status, quantity);
      return;
    }
    const again = () => {
      this.#busy = false;
      this.#buy.disabled = false;
      setText(this.#buy, 'Buy now');
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
      show(this.#error, true);
      setText(
        this.#error,
        r.status === 0
          ? `We can't reach the shop. Trying again in ${Math.ceil(wait / 1000)} s. Your turn is kept.`
          : `The shop is very busy. Trying again in ${Math.ceil(wait / 1000)} s. Your turn is kept.`,
      );
      this.#retryTimer = setTimeout(() => {
        this.#busy = false;
        void this.#purchase();
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
        this.#setQuantities(Math.max(1, remaining));
        this.#problem(`Only ${remaining} left. Choose ${remaining === 1 ? '1' : `up to ${remaining}`} and press Buy now again.`);
        return;
      }
      case 'QUANTITY_OUT_OF_RANGE':
        this.#problem(`${r.message}. Choose a smaller quantity.`);
        return;
      default:
        this.#problem(`Your order did not go through (${r.message}). Please try again.`);
    }
  }
}

/**
 * The order after the purchase: pending until the worker commits it. Live `order:update`
 * settles it; a poll of `GET /api/orders/:id` catches an event missed while disconnected.
 */
export class OrderWatch {
  readonly #title = byId('order-title');
  readonly #status = byId('order-status');
  readonly #detail = byId('order-detail');
  #orderId: string | null = null;
  #state: OrderStatus | null = null;
  #quantity: number | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #polls = 0;

  constructor(private readonly host: CheckoutHost) {}

  get orderId(): string | null {
    return this.#orderId;
  }

  watch(orderId: string, status: OrderStatus | null, quantity: number | null, focus: boolean): void {
    const changed = this.#orderId !== orderId;
    this.#orderId = orderId;
    if (quantity !== null) this.#quantity = quantity;
    if (changed) {
      this.#state = null;
      this.#polls = 0;
    }
    this.update(orderId, status ?? this.#state ?? 'pending', !changed);
    if (focus) focusHeading(this.#title);
    if (status === null) this.#poll(0);
  }

  /** an order status from any source (live event, poll, purchase answer) */
  update(orderId: string, status: OrderStatus, quiet = false): void {
    if (orderId !== this.#orderId) return;
    const first = this.#state === null;
    if (status === this.#state) return;
    // a confirmed or rejected order never goes back to pending
    if (this.#state !== null && this.#state !== 'pending' && status === 'pending') return;
    this.#state = status;
    this.#render();
    if (status === 'pending') {
      if (!quiet && first) this.host.announcer.now('Order placed. Confirming it now.');
      this.#poll(this.host.live() ? 5_000 : 1_500);
    } else {
      clearTimeout(this.#timer);
      this.host.announcer.now(status === 'confirmed' ? 'Your order is confirmed.' : 'Sorry: your order could not be completed.');
    }
  }

  /** the live channel went down or came back: poll faster or slower */
  liveChanged(): void {
    if (this.#state === 'pending') this.#poll(this.host.live() ? 5_000 : 1_000);
  }

  #poll(delayMs: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(async () => {
      const id = this.#orderId;
      if (!id) return;
      const r = await shopperApi.order(id, this.host.ticket());
      this.#polls++;
      if (r.ok) {
        if (r.value.quantity !== null) this.#quantity = r.value.quantity;
        this.update(id, r.value.status);
        if (r.value.status !== 'pending') return;
      }
      const base = this.host.live() ? 5_000 : Math.min(1_000 * 1.5 ** this.#polls, 5_000);
      this.#poll(r.ok ? base : Math.max(base, r.retryAfterMs ?? 2_000));
    }, delayMs);
  }

  #render(): void {
    const s = this.#state;
    const ref = this.#orderId ? this.#orderId.slice(0, 8).toUpperCase() : '';
    const qty = this.#quantity === null ? '' : ` · ${this.#quantity} ${this.#quantity === 1 ? 'unit' : 'units'}`;
    const card = this.#title.closest('section');
    card?.setAttribute('data-order', s ?? 'pending');
    if (s === 'confirmed') {
      setText(this.#title, 'Order confirmed');
      setText(this.#status, 'Your order is confirmed. You can close this page.');
    } else if (s === 'rejected') {
      setText(this.#title, 'Order not completed');
      setText(this.#status, 'Sorry: the shop could not confirm your order, and it has been cancelled.');
    } else {
      setText(this.#title, 'Order placed');
      setText(this.#status, 'Confirming your order… this takes a moment. Keep this page open.');
    }
    setText(this.#detail, `Order reference ${ref}${qty}`);
  }
}
