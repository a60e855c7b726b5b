/**
 * The shopper's waiting room: `/sales/:saleId`.
 *
 * On load the page takes its place in line (the ticket kept for this sale first, so a refresh
 * or a second tab is the same shopper in the same place), then follows the sale live over
 * socket.io: one `sale:update` per admission tick moves the position and feeds the ETA;
 * `queue:admitted` opens the checkout; `order:update` settles the order. Whenever the live
 * channel is down, `/queue/me` is polled as the server advises (`retryAfterMs`); while it is up,
 * `/queue/me` re-measures the position now and then.
 */
import { Announcer } from './announcer.js';
import { isTransient, shopperApi, type Failure } from './api.js';
import { Checkout, OrderWatch, type CheckoutHost } from './checkout.js';
import { ServerClock } from './clock.js';
import { byId } from './dom.js';
import { EtaRange, formatRange, RateEstimator, type Range } from './eta.js';
import { LiveChannel, type LiveState } from './live.js';
import { Poller } from './poller.js';
import { PositionTracker } from './position.js';
import { SaleView } from './sale-view.js';
import type { Admission, OrderStatus, PublicSale, SaleStatus, SaleUpdate, Standing } from './shapes.js';
import { ticketStore } from './ticket-store.js';
import { count } from './time-format.js';

type Phase =
  | 'loading'
  | 'retrying'
  | 'scheduled'
  | 'prequeue'
  | 'queued'
  | 'admitted'
  | 'ordered'
  | 'expired'
  | 'sold_out'
  | 'ended'
  | 'not_found'
  | 'error';

/** ticket problems that a fresh join (the visitor cookie keeps the place) can mend */
const TICKET_CODES = new Set(['INVALID_TICKET', 'TOKEN_EXPIRED', 'INVALID_TOKEN', 'WRONG_SALE']);
/** the live channel may blink; polling starts when it stays down this long */
const FALLBACK_AFTER_MS = 2_000;
const FRAME_MS = 250;

const jitter = (ms: number) => Math.random() * ms;

class WaitingRoom implements CheckoutHost {
  readonly clock = new ServerClock();
  readonly announcer = new Announcer(byId('announcer'));
  readonly #view = new SaleView();
  readonly #position = new PositionTracker();
  readonly #rate = new RateEstimator();
  readonly #eta = new EtaRange();
  readonly #checkout = new Checkout(this);
  readonly #order = new OrderWatch(this);
  readonly #live: LiveChannel;
  readonly #poller = new Poller(() => this.#pollStanding());

  #phase: Phase = 'loading';
  #ticket: string | null;
  #sale: PublicSale | null = null;
  #saleStatus: SaleStatus | null = null;
  #waiting: number | null = null;
  #remaining: number | null = null;
  #failures = 0;
  #pollFailures = 0;
  #pollEveryMs = 5_000;
  #fallbackTimer: ReturnType<typeof setTimeout> | undefined;
  #joinTimer: ReturnType<typeof setTimeout> | undefined;
  #drawAsked = false;
  #overrunSince: number | null = null;
  #refusals = 0;
  #lastPosition: number | null = null;
  #joining = false;

  constructor(readonly saleId: string) {
    this.#ticket = ticketStore.get(saleId);
    this.#live = new LiveChannel(saleId, {
      saleUpdate: (e) => this.#onSaleUpdate(e),
      admitted: (a) => this.#admit(a),
      orderUpdate: (e) => this.#order.update(e.orderId, e.status),
      state: (s) => this.#onLiveState(s),
      refused: (code) => void this.#onRefused(code),
    });
  }

  // --- CheckoutHost -----------------------------------------------------------------------

  ticket(): string | null {
    return this.#ticket;
  }
  live(): boolean {
    return this.#live.state === 'live';
  }
  outcome(kind: 'sold_out' | 'expired' | 'ended'): void {
    this.#enter(kind);
  }
  recheck(): void {
    this.#poller.soon();
  }
  ordered(orderId: string, status: OrderStatus | null, quantity: number | null): void {
    this.#enterOrdered(orderId, status, quantity);
  }

  // --- start --------------------------------------------------------------------------------

  start(): void {
    setInterval(() => this.#frame(), FRAME_MS);
    this.#view.connection('connecting');
    void this.#load();
  }

  async #load(): Promise<void> {
    const r = await shopperApi.sale(this.saleId);
    if (!r.ok) {
      if (r.code === 'SALE_NOT_FOUND' || r.status === 404) return this.#enter('not_found');
      return this.#retry(r, () => void this.#load());
    }
    this.clock.sample(r.value.serverTime, r.sentAt, r.receivedAt);
    this.#sale = r.value;
    this.#saleStatus = r.value.status;
    this.#waiting = r.value.waiting;
    this.#remaining = r.value.remaining;
    this.#rate.configure(r.value.ratePerMinute);
    if (r.value.status === 'open') this.#rate.observe(r.value.admittedTotal, r.value.serverTime);
    this.#view.saleName(r.value.name);
    await this.#takePlace();
  }

  /** the place this shopper already has (this ticket), or a new one */
  async #takePlace(): Promise<void> {
    if (this.#ticket) {
      const me = await shopperApi.me(this.saleId, this.#ticket);
      if (me.ok) {
        this.#failures = 0;
        this.#connectLive();
        this.#applyStanding(me.value, this.clock.now());
        return;
      }
      if (isTransient(me)) return this.#retry(me, () => void this.#takePlace());
      // not a ticket for this place any more: join again (the visitor cookie keeps who we are)
      this.#forgetTicket();
    }
    await this.#join();
  }

  async #join(): Promise<void> {
    if (this.#joining) return;
    this.#joining = true;
    const r = await shopperApi.join(this.saleId, this.#ticket);
    this.#joining = false;
    if (r.ok) {
      this.#failures = 0;
      this.#ticket = r.value.ticket;
      ticketStore.set(this.saleId, r.value.ticket);
      this.#connectLive();
      this.#applyStanding(r.value, this.clock.now());
      return;
    }
    switch (r.code) {
      case 'SALE_NOT_OPEN':
        this.#enter('scheduled');
        // follow the sale until the line opens, then join
        if (this.#live.state === 'down') this.#live.connect(null);
        this.#scheduleJoin();
        return;
      case 'SOLD_OUT':
        return this.#enter('sold_out');
      case 'SALE_ENDED':
        return this.#enter('ended');
      case 'SALE_NOT_FOUND':
        return this.#enter('not_found');
    }
    if (TICKET_CODES.has(r.code) && this.#ticket) {
      this.#forgetTicket();
      return this.#join();
    }
    if (isTransient(r)) return this.#retry(r, () => void this.#join());
    this.#enter('error', r.message);
  }

  #scheduleJoin(): void {
    clearTimeout(this.#joinTimer);
    const opens = this.#sale?.prequeueOpensAt ?? this.#sale?.startsAt ?? this.clock.now();
    // everyone waiting for the line to open should not arrive in the same millisecond
    const delay = Math.max(1_000, opens - this.clock.now()) + jitter(2_000);
    this.#joinTimer = setTimeout(() => void this.#join(), Math.min(delay, 2 ** 31 - 1));
  }

  #forgetTicket(): void {
    this.#ticket = null;
    ticketStore.forget(this.saleId);
  }

  #connectLive(): void {
    this.#live.connect(this.#ticket);
  }

  async #onRefused(code: string): Promise<void> {
    // the server does not accept this ticket for live updates: get a fresh one, at most a few times
    if (this.#ticket && TICKET_CODES.has(code) && this.#refusals++ < 3) {
      const r = await shopperApi.join(this.saleId, this.#ticket);
      if (r.ok) {
        this.#ticket = r.value.ticket;
        ticketStore.set(this.saleId, r.value.ticket);
        this.#connectLive();
        this.#applyStanding(r.value, this.clock.now());
        return;
      }
    }
    // polling carries on without the live channel
    this.#onLiveState('down');
  }

  /** a problem before the page knows anything: say so, try again with growing pauses */
  #retry(f: Failure, again: () => void): void {
    this.#failures++;
    const wait = Math.max(f.retryAfterMs ?? 0, Math.min(30_000, 1_000 * 2 ** Math.min(this.#failures - 1, 5))) + jitter(1_000);
    const timer = setTimeout(again, wait);
    this.#phase = 'retrying';
    this.#view.outcome({
      kind: 'retrying',
      title: "We can't reach the waiting room",
      text:
        f.status === 429 || f.status === 503
          ? `It is very busy right now. Trying again in ${Math.ceil(wait / 1000)} s: keep this page open. If you had a place in line, it is kept.`
          : `Trying again in ${Math.ceil(wait / 1000)} s: keep this page open. If you had a place in line, it is kept.`,
      action: {
        label: 'Try again now',
        run: () => {
          clearTimeout(timer);
          this.#view.outcomeBusy('Trying…');
          again();
        },
      },
    });
    this.#view.card('outcome', 'retrying');
  }

  // --- what the server says -------------------------------------------------------------

  #applyStanding(s: Standing, at: number): void {
    this.#waiting = s.waiting;
    if (this.#saleStatus === 'open') this.#rate.observe(s.admittedTotal, at);
    if (s.position !== null) this.#position.measure(s.position, s.admittedTotal);
    else this.#position.advance(s.admittedTotal);
    this.#overrunSince = null;
    switch (s.status) {
      case 'prequeue':
        return this.#enter('prequeue');
      case 'queued':
        return this.#enter('queued');
      case 'admitted':
        if (s.admission) this.#admit(s.admission);
        return;
      case 'ordered':
        if (s.orderId) this.#enterOrdered(s.orderId, null, null);
        return;
      default:
        return this.#enter(s.status);
    }
  }

  #onSaleUpdate(e: SaleUpdate): void {
    this.#saleStatus = e.status;
    this.#waiting = e.waiting;
    this.#remaining = e.remaining;
    this.#rate.configure(e.ratePerMinute);
    // only a line that is meant to move says how fast it moves
    if (e.status === 'open') this.#rate.observe(e.admittedTotal, e.at);
    else this.#rate.hold();
    this.#position.advance(e.admittedTotal);
    switch (this.#phase) {
      case 'scheduled':
        if (e.status === 'prequeue' || e.status === 'open' || e.status === 'paused') {
          clearTimeout(this.#joinTimer);
          this.#joinTimer = setTimeout(() => void this.#join(), jitter(2_000));
        } else if (e.status === 'sold_out' || e.status === 'ended') this.#enter(e.status);
        return;
      case 'prequeue':
      case 'queued':
        if (e.status === 'sold_out' || e.status === 'ended') return this.#enter(e.status);
        if (this.#phase === 'prequeue' && (e.status === 'open' || e.status === 'paused')) {
          // the draw happened: learn the place, spread over a moment so that not everyone asks at once
          this.#askForDraw();
          this.#enter('queued');
          return;
        }
        this.#render();
        return;
      case 'admitted':
        // an order on its way decides for itself; otherwise the last unit went to someone else
        if ((e.status === 'sold_out' || e.status === 'ended') && !this.#checkout.busy) this.#enter(e.status);
        return;
      case 'expired':
        if (e.status === 'sold_out' || e.status === 'ended') this.#enter(e.status);
        return;
      default:
        return;
    }
  }

  #askForDraw(): void {
    if (this.#position.known) return;
    this.#drawAsked = true;
    const spreadMs = Math.min(15_000, Math.max(1_000, ((this.#waiting ?? 0) / 10_000) * 1_000));
    this.#poller.soon(spreadMs);
  }

  #admit(a: Admission): void {
    if (this.#phase === 'ordered' || this.#phase === 'sold_out' || this.#phase === 'ended') return;
    if (this.#phase === 'admitted' && this.#checkout.token === a.token) return;
    if (a.expiresAt <= this.clock.now()) {
      // our clock says it is over, the server's not yet: ask again in a moment, not in a loop
      setTimeout(() => this.recheck(), 1_000);
      return;
    }
    this.#enter('admitted');
    this.#checkout.open(a, this.#sale?.maxPerShopper ?? 1, this.#remaining);
  }

  #enterOrdered(orderId: string, status: OrderStatus | null, quantity: number | null): void {
    const fresh = this.#phase !== 'ordered';
    this.#enter('ordered');
    this.#order.watch(orderId, status, quantity, fresh);
  }

  /** polling: the fallback while the live channel is down, and the occasional re-measure */
  async #pollStanding(): Promise<number | null> {
    const phase = this.#phase;
    if (!this.#ticket || !(phase === 'prequeue' || phase === 'queued' || phase === 'admitted')) return null;
    const r = await shopperApi.me(this.saleId, this.#ticket);
    if (r.ok) {
      this.#pollFailures = 0;
      this.#applyStanding(r.value, this.clock.now() - (r.receivedAt - r.sentAt) / 2);
      if (this.live()) return this.#phase === 'queued' ? this.#resyncMs() : null;
      this.#pollEveryMs = Math.max(1_000, r.value.retryAfterMs ?? 5_000);
      this.#render();
      return r.value.retryAfterMs === null ? null : this.#pollEveryMs;
    }
    if (TICKET_CODES.has(r.code)) {
      this.#forgetTicket();
      void this.#join();
      return null;
    }
    this.#pollFailures++;
    this.#render();
    return Math.max(r.retryAfterMs ?? 0, Math.min(30_000, 1_000 * 2 ** Math.min(this.#pollFailures, 5))) + jitter(1_000);
  }

  /** re-measure less often in a long line: 100,000 pages asking every 30 s is 3,000 requests a second */
  #resyncMs(): number {
    const base = Math.min(120_000, Math.max(20_000, (this.#waiting ?? 0) * 1));
    return base * (0.75 + Math.random() * 0.5);
  }

  #onLiveState(s: LiveState): void {
    clearTimeout(this.#fallbackTimer);
    this.#order.liveChanged();
    if (s === 'live') {
      this.#refusals = 0;
      // what happened while we were away (an admission pushed meanwhile is lost): ask once
      if (this.#phase === 'prequeue' || this.#phase === 'queued') {
        this.#poller.start(this.#resyncMs());
        this.#poller.soon(1_000);
      }
    } else {
      this.#fallbackTimer = setTimeout(() => {
        if (!this.live() && (this.#phase === 'prequeue' || this.#phase === 'queued')) {
          this.#poller.start();
          this.#poller.soon();
        }
        this.#render();
      }, FALLBACK_AFTER_MS);
    }
    this.#render();
  }

  // --- showing it -----------------------------------------------------------------------------

  #enter(phase: Phase, message?: string): void {
    const was = this.#phase;
    this.#phase = phase;
    if (phase !== 'scheduled') clearTimeout(this.#joinTimer);
    if (phase !== 'admitted') this.#checkout.close();
    if (phase !== 'queued' && phase !== 'prequeue') this.announcer.cancel();
    if (phase === 'prequeue' || phase === 'queued') {
      this.#poller.start(this.live() ? this.#resyncMs() : this.#pollEveryMs);
    } else if (phase !== 'admitted') {
      this.#poller.stop();
    }
    if (phase === 'sold_out' || phase === 'ended' || phase === 'not_found') this.#live.close();
    switch (phase) {
      case 'loading':
        this.#view.card('loading', phase);
        break;
      case 'scheduled':
      case 'prequeue':
        this.#view.card('before', phase);
        if (phase === 'prequeue' && was !== 'prequeue') this.announcer.now('You are in the pre-queue. Your place is drawn when the sale starts.');
        break;
      case 'queued':
        this.#view.card('queue', phase);
        if (was !== 'queued') this.#lastPosition = null;
        break;
      case 'admitted':
        this.#view.card('checkout', phase);
        break;
      case 'ordered':
        this.#view.card('order', phase);
        break;
      case 'expired':
        this.#view.outcome({
          kind: phase,
          title: 'Your checkout window closed',
          text: 'Your turn passed without an order. You can join the line again, at the back.',
          action: { label: 'Join the line again', run: () => void this.#rejoin() },
        });
        this.#view.card('outcome', phase);
        if (was !== phase) this.announcer.now('Your checkout window closed. You can join the line again, at the back.');
        break;
      case 'sold_out':
        this.#view.outcome({
          kind: phase,
          title: 'Sold out',
          text:
            was === 'admitted'
              ? 'Sorry: the last units were bought just before your order. Thank you for waiting.'
              : 'Sorry: every unit has been sold. Thank you for waiting.',
        });
        this.#view.card('outcome', phase);
        if (was !== phase) this.announcer.now('Sold out. Every unit has been sold.');
        break;
      case 'ended':
        this.#view.outcome({ kind: phase, title: 'This sale has ended', text: 'Thank you for your interest.' });
        this.#view.card('outcome', phase);
        if (was !== phase) this.announcer.now('This sale has ended.');
        break;
      case 'not_found':
        this.#view.saleName('Sale not found');
        this.#view.outcome({ kind: phase, title: "We can't find this sale", text: 'Check the link you followed: this sale does not exist.' });
        this.#view.card('outcome', phase);
        break;
      case 'retrying':
        break;
      case 'error':
        this.#view.outcome({
          kind: phase,
          title: 'Something went wrong',
          text: `${message ?? 'The waiting room answered something unexpected.'} If you had a place in line, it is kept.`,
          action: { label: 'Reload the page', run: () => location.reload() },
        });
        this.#view.card('outcome', phase);
        break;
    }
    this.#render();
  }

  async #rejoin(): Promise<void> {
    this.#view.outcomeBusy('Joining…');
    this.#position.reset();
    this.#eta.update(null);
    this.#drawAsked = false;
    await this.#join();
    if (this.#phase === 'queued' && this.#position.position !== null) {
      this.announcer.now(`You are back in line, number ${count(this.#position.position)}.`);
    }
  }

  /** a few times a second: countdowns, and a check that the estimate has not run past the front */
  #frame(): void {
    const now = this.clock.now();
    switch (this.#phase) {
      case 'scheduled':
      case 'prequeue':
        // the start passed without word from the live channel: ask once
        if (this.#phase === 'prequeue' && this.#sale && now >= this.#sale.startsAt + 2_000 && !this.#drawAsked) this.#askForDraw();
        this.#renderBefore(now);
        return;
      case 'admitted':
        this.#checkout.tick();
        return;
      case 'queued':
        // the position says we are past the front but no admission came: ask where we stand
        if (this.#position.overrun > 0) {
          this.#overrunSince ??= now;
          if (now - this.#overrunSince > 1_500) {
            this.#overrunSince = now + 10_000;
            this.#poller.soon(500);
          }
        } else this.#overrunSince = null;
        return;
      default:
        return;
    }
  }

  #renderBefore(now: number): void {
    const sale = this.#sale;
    if (!sale) return;
    this.#view.before({
      lineOpensAt: this.#phase === 'scheduled' ? sale.prequeueOpensAt : null,
      startsAt: sale.startsAt,
      now,
      queueMode: sale.queueMode,
      position: this.#position.position,
      joined: this.#phase === 'prequeue',
    });
  }

  #render(): void {
    const phase = this.#phase;
    // connection line
    if (this.live()) this.#view.connection('live');
    else if (this.#poller.active && (phase === 'prequeue' || phase === 'queued')) this.#view.connection('polling', this.#pollEveryMs);
    else this.#view.connection('connecting');

    const waitingPhase = phase === 'prequeue' || phase === 'queued' || phase === 'scheduled';
    this.#view.banner(
      waitingPhase && this.#pollFailures > 1
        ? "We're having trouble reaching the waiting room. Retrying… your place in line is kept."
        : waitingPhase && this.#saleStatus === 'paused'
          ? 'The shop has paused the sale for a moment. Your place in line is kept.'
          : null,
    );

    if (phase === 'scheduled' || phase === 'prequeue') {
      this.#renderBefore(this.clock.now());
      this.#view.title(phase === 'prequeue' ? 'In the pre-queue' : null);
      return;
    }
    if (phase === 'queued') return this.#renderQueue();
    this.#view.title(
      phase === 'admitted' ? "It's your turn!" : phase === 'ordered' ? 'Order placed' : phase === 'sold_out' ? 'Sold out' : null,
    );
  }

  #renderQueue(): void {
    const position = this.#position.position;
    const paused = this.#saleStatus === 'paused';
    const perSecond = this.#rate.perSecond;
    let eta: Range | null = null;
    let note: string | null = null;
    if (position === null) note = '…';
    else if (paused) note = 'Paused for now';
    else if (perSecond !== null && perSecond > 1e-4) eta = this.#eta.update(position / perSecond);
    else note = 'Waiting for the line to move';
    if (eta === null) this.#eta.update(null);
    this.#view.queue({
      position,
      ahead: this.#position.ahead,
      eta,
      etaNote: note,
      progress: this.#position.progress,
      waiting: this.#waiting,
      remaining: this.#remaining,
      stock: this.#sale?.stock ?? null,
    });
    this.#view.title(position === null ? 'In line' : `#${count(position)} in line`);
    if (position !== null && position !== this.#lastPosition) {
      const text = `You are number ${count(position)} in line.${eta ? ` Estimated wait: ${formatRange(eta)}.` : ''}`;
      if (this.#lastPosition === null) this.announcer.now(text);
      else this.announcer.progress(text);
      this.#lastPosition = position;
    }
  }
}

const saleId = decodeURIComponent(location.pathname.split('/').filter(Boolean)[1] ?? '');
new WaitingRoom(saleId).start();
