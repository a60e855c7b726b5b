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
import { EtaRange, RateEstimator, type Range } from './eta.js';
import { LiveChannel, type LiveState } from './live.js';
import { Poller } from './poller.js';
import { PositionTracker } from './position.js';
import { NoticeBoard } from './sale-notice.js';
import { SaleView, type Outcome } from './sale-view.js';
import type { Admission, OrderStatus, PublicSale, SaleStatus, SaleUpdate, Standing } from './shapes.js';
import { text } from './shopper-text.js';
import type { TextKey } from './catalogue.js';
import { ticketStore } from './ticket-store.js';

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
  /** the sale does not take this shopper (no account, a link that did not verify, not invited) */
  | 'refused'
  | 'error';

/** an order's state in the account's list */
const MY_ORDER_STATUS: Record<OrderStatus, TextKey> = {
  pending: 'myOrderPending',
  confirmed: 'myOrderConfirmed',
  rejected: 'myOrderRejected',
  paid: 'myOrderPaid',
  cancelled: 'myOrderCancelled',
};

/** ticket problems that a fresh join (the visitor cookie keeps the place) can mend */
const TICKET_CODES = new Set(['INVALID_TICKET', 'TOKEN_EXPIRED', 'INVALID_TOKEN', 'WRONG_SALE']);
/** the live channel may blink; polling starts when it stays down this long */
const FALLBACK_AFTER_MS = 2_000;
const FRAME_MS = 250;

const jitter = (ms: number) => Math.random() * ms;

class WaitingRoom implements CheckoutHost {
  readonly clock = new ServerClock();
  readonly announcer = new Announcer(byId('announcer'));
  private readonly _notice = new NoticeBoard({
    box: byId('notice'),
    label: byId('notice-label'),
    text: byId('notice-text'),
    polite: byId('notice-announcer'),
    assertive: byId('notice-alert'),
  });
  private readonly _view = new SaleView();
  private readonly _position = new PositionTracker();
  private readonly _rate = new RateEstimator();
  private readonly _eta = new EtaRange();
  private readonly _checkout = new Checkout(this);
  private readonly _order = new OrderWatch(this);
  private readonly _live: LiveChannel;
  private readonly _poller = new Poller(() => this._pollStanding());

  private _phase: Phase = 'loading';
  private _ticket: string | null;
  private _sale: PublicSale | null = null;
  private _saleStatus: SaleStatus | null = null;
  private _waiting: number | null = null;
  private _remaining: number | null = null;
  private _failures = 0;
  private _pollFailures = 0;
  private _pollEveryMs = 5_000;
  private _fallbackTimer: ReturnType<typeof setTimeout> | undefined;
  private _joinTimer: ReturnType<typeof setTimeout> | undefined;
  private _drawAsked = false;
  private _overrunSince: number | null = null;
  private _refusals = 0;
  private _lastPosition: number | null = null;
  private _joining = false;
  /** the shop's signed identity from the link (`?identity=`), sent with the next join only */
  private _identity: string | null;
  /** the shop's gated page that sent the shopper here (`?return=`): where the turn leads */
  private readonly _returnTo: string | null;

  constructor(readonly saleId: string) {
    this._ticket = ticketStore.get(saleId);
    this._identity = takeIdentityFromAddress();
    this._returnTo = returnPath();
    this._live = new LiveChannel(saleId, {
      saleUpdate: (e) => this._onSaleUpdate(e),
      admitted: (a) => this._admit(a),
      orderUpdate: (e) => this._order.update(e.orderId, e.status),
      notice: (n) => this._notice.show(n),
      state: (s) => this._onLiveState(s),
      refused: (code) => void this._onRefused(code),
    });
  }

  // --- CheckoutHost -----------------------------------------------------------------------

  ticket(): string | null {
    return this._ticket;
  }
  live(): boolean {
    return this._live.state === 'live';
  }
  outcome(kind: 'sold_out' | 'expired' | 'ended'): void {
    this._enter(kind);
  }
  recheck(): void {
    this._poller.soon();
  }
  ordered(orderId: string, status: OrderStatus | null, quantity: number | null): void {
    this._enterOrdered(orderId, status, quantity);
  }

  // --- start --------------------------------------------------------------------------------

  start(): void {
    setInterval(() => this._frame(), FRAME_MS);
    this._view.connection('connecting');
    void this._load();
  }

  private async _load(): Promise<void> {
    const r = await shopperApi.sale(this.saleId);
    if (!r.ok) {
      if (r.code === 'SALE_NOT_FOUND' || r.status === 404) return this._enter('not_found');
      return this._retry(r, () => void this._load());
    }
    this.clock.sample(r.value.serverTime, r.sentAt, r.receivedAt);
    this._sale = r.value;
    this._notice.show(r.value.notice);
    this._saleStatus = r.value.status;
    this._waiting = r.value.waiting;
    this._remaining = r.value.remaining;
    this._rate.configure(r.value.ratePerMinute);
    if (r.value.status === 'open') this._rate.observe(r.value.admittedTotal, r.value.serverTime);
    this._view.saleName(r.value.name);
    this._view.product(r.value.product, r.value.name);
    await this._takePlace();
  }

  /** the place this shopper already has (this ticket), or a new one */
  private async _takePlace(): Promise<void> {
    if (this._ticket) {
      const me = await shopperApi.me(this.saleId, this._ticket);
      if (me.ok) {
        this._failures = 0;
        if (this._sale?.identity === 'shop') void this._showMyOrders();
        this._notice.show(me.value.notice);
        this._connectLive();
        this._applyStanding(me.value, this.clock.now());
        return;
      }
      if (isTransient(me)) return this._retry(me, () => void this._takePlace());
      // not a ticket for this place any more: join again (the visitor cookie keeps who we are)
      this._forgetTicket();
    }
    await this._join();
  }

  private async _join(): Promise<void> {
    if (this._joining) return;
    this._joining = true;
    const r = await shopperApi.join(this.saleId, this._ticket, this._identity);
    this._joining = false;
    // used once: the gateway now keeps the account in its session cookie (or refused the link)
    if (r.ok || !isTransient(r)) this._identity = null;
    if (r.ok) {
      this._failures = 0;
      if (this._sale?.identity === 'shop') void this._showMyOrders();
      this._ticket = r.value.ticket;
      ticketStore.set(this.saleId, r.value.ticket);
      this._connectLive();
      this._applyStanding(r.value, this.clock.now());
      return;
    }
    switch (r.code) {
      case 'SALE_NOT_OPEN':
        this._enter('scheduled');
        // follow the sale until the line opens, then join
        if (this._live.state === 'down') this._live.connect(null);
        this._scheduleJoin();
        return;
      case 'SOLD_OUT':
        return this._enter('sold_out');
      case 'SALE_ENDED':
        return this._enter('ended');
      case 'SALE_NOT_FOUND':
        return this._enter('not_found');
      case 'IDENTITY_REQUIRED': {
        // the gateway names its OpenID Connect sign-in when it has one (same origin only)
        const signIn = typeof r.body.signInUrl === 'string' && r.body.signInUrl.startsWith('/auth/') ? r.body.signInUrl : null;
        return this._refused(
          text.t('signInToJoin'),
          text.t(signIn ? 'signInToJoinHere' : 'signInToJoinText'),
          signIn ? { label: text.t('signIn'), run: () => location.assign(signIn) } : undefined,
        );
      }
      case 'INVALID_IDENTITY':
        return this._refused(text.t('linkExpired'), text.t('linkExpiredText'));
      case 'NOT_INVITED':
        return this._refused(text.t('inviteOnly'), text.t('inviteOnlyText'));
      case 'SALE_SUSPENDED':
        return this._waitAndJoin(r, text.t('maintenance'), text.t('maintenanceText'));
      case 'QUEUE_FULL':
        return this._waitAndJoin(r, text.t('queueFull'), text.t('queueFullText'));
    }
    if (TICKET_CODES.has(r.code) && this._ticket) {
      this._forgetTicket();
      return this._join();
    }
    if (isTransient(r)) return this._retry(r, () => void this._join());
    this._enter('error', r.code);
  }

  /**
   * A join the sale cannot take now (maintenance, a full line): say so kindly with what comes
   * next, and try again when the gateway says it is worth it (Retry-After), spread a little.
   */
  private _waitAndJoin(f: Failure, title: string, why: string): void {
    const wait = Math.max(5_000, f.retryAfterMs ?? 30_000) + jitter(5_000);
    const timer = setTimeout(() => void this._join(), wait);
    this._phase = 'retrying';
    this._view.outcome({
      kind: 'retrying',
      title,
      text: text.t('tryAgainIn', { why, seconds: text.seconds(wait) }),
      action: {
        label: text.t('tryAgainNow'),
        run: () => {
          clearTimeout(timer);
          this._view.outcomeBusy(text.t('trying'));
          void this._join();
        },
      },
    });
    this._view.card('outcome', 'retrying');
    this.announcer.now(text.t('titleAndText', { title, text: why }));
    this._render();
  }

  private _scheduleJoin(): void {
    clearTimeout(this._joinTimer);
    const opens = this._sale?.prequeueOpensAt ?? this._sale?.startsAt ?? this.clock.now();
    // everyone waiting for the line to open should not arrive in the same millisecond
    const delay = Math.max(1_000, opens - this.clock.now()) + jitter(2_000);
    this._joinTimer = setTimeout(() => void this._join(), Math.min(delay, 2 ** 31 - 1));
  }

  private _forgetTicket(): void {
    this._ticket = null;
    ticketStore.forget(this.saleId);
  }

  private _connectLive(): void {
    this._live.connect(this._ticket);
  }

  private async _onRefused(code: string): Promise<void> {
    // the server does not accept this ticket for live updates: get a fresh one, at most a few times
    if (this._ticket && TICKET_CODES.has(code) && this._refusals++ < 3) {
      const r = await shopperApi.join(this.saleId, this._ticket);
      if (r.ok) {
        this._ticket = r.value.ticket;
        ticketStore.set(this.saleId, r.value.ticket);
        this._connectLive();
        this._applyStanding(r.value, this.clock.now());
        return;
      }
    }
    // polling carries on without the live channel
    this._onLiveState('down');
  }

  /** a problem before the page knows anything: say so, try again with growing pauses */
  private _retry(f: Failure, again: () => void): void {
    this._failures++;
    const wait = Math.max(f.retryAfterMs ?? 0, Math.min(30_000, 1_000 * 2 ** Math.min(this._failures - 1, 5))) + jitter(1_000);
    const timer = setTimeout(again, wait);
    this._phase = 'retrying';
    this._view.outcome({
      kind: 'retrying',
      title: text.t('unreachable'),
      text: text.t(f.status === 429 || f.status === 503 ? 'busyRetry' : 'retry', { seconds: text.seconds(wait) }),
      action: {
        label: text.t('tryAgainNow'),
        run: () => {
          clearTimeout(timer);
          this._view.outcomeBusy(text.t('trying'));
          again();
        },
      },
    });
    this._view.card('outcome', 'retrying');
    this._render();
  }

  // --- what the server says -------------------------------------------------------------

  private _applyStanding(s: Standing, at: number): void {
    this._waiting = s.waiting;
    if (this._saleStatus === 'open') this._rate.observe(s.admittedTotal, at);
    if (s.position !== null) this._position.measure(s.position, s.admittedTotal);
    else this._position.advance(s.admittedTotal);
    this._overrunSince = null;
    switch (s.status) {
      case 'prequeue':
        return this._enter('prequeue');
      case 'queued':
        return this._enter('queued');
      case 'admitted':
        if (s.admission) this._admit(s.admission);
        return;
      case 'ordered':
        if (s.orderId) this._enterOrdered(s.orderId, null, null);
        return;
      default:
        return this._enter(s.status);
    }
  }

  private _onSaleUpdate(e: SaleUpdate): void {
    this._saleStatus = e.status;
    this._waiting = e.waiting;
    this._remaining = e.remaining;
    this._rate.configure(e.ratePerMinute);
    // only a line that is meant to move says how fast it moves
    if (e.status === 'open') this._rate.observe(e.admittedTotal, e.at);
    else this._rate.hold();
    this._position.advance(e.admittedTotal);
    switch (this._phase) {
      case 'scheduled':
        if (e.status === 'prequeue' || e.status === 'open' || e.status === 'paused') {
          clearTimeout(this._joinTimer);
          this._joinTimer = setTimeout(() => void this._join(), jitter(2_000));
        } else if (e.status === 'sold_out' || e.status === 'ended') this._enter(e.status);
        return;
      case 'prequeue':
      case 'queued':
        if (e.status === 'sold_out' || e.status === 'ended') return this._enter(e.status);
        if (this._phase === 'prequeue' && (e.status === 'open' || e.status === 'paused')) {
          // the draw happened: learn the place, spread over a moment so that not everyone asks at once
          this._askForDraw();
          this._enter('queued');
          return;
        }
        this._render();
        return;
      case 'admitted':
        // an order on its way decides for itself; otherwise the last unit went to someone else
        if ((e.status === 'sold_out' || e.status === 'ended') && !this._checkout.busy) this._enter(e.status);
        return;
      case 'expired':
        if (e.status === 'sold_out' || e.status === 'ended') this._enter(e.status);
        return;
      default:
        return;
    }
  }

  private _askForDraw(): void {
    if (this._position.known) return;
    this._drawAsked = true;
    const spreadMs = Math.min(15_000, Math.max(1_000, ((this._waiting ?? 0) / 10_000) * 1_000));
    this._poller.soon(spreadMs);
  }

  private _admit(a: Admission): void {
    if (this._phase === 'ordered' || this._phase === 'sold_out' || this._phase === 'ended') return;
    if (this._phase === 'admitted' && this._checkout.token === a.token) return;
    if (a.expiresAt <= this.clock.now()) {
      // our clock says it is over, the server's not yet: ask again in a moment, not in a loop
      setTimeout(() => this.recheck(), 1_000);
      return;
    }
    this._enter('admitted');
    if (this._returnTo) {
      // the gate's cookie comes with the gateway's word that it is our turn: then back to the shop's page
      const to = this._returnTo;
      void shopperApi.me(this.saleId, this._ticket).then((me) => {
        if (me.ok && me.value.status === 'admitted') location.assign(to);
      });
      return;
    }
    this._checkout.open(a, this._sale?.maxPerShopper ?? 1, this._remaining);
  }

  private _enterOrdered(orderId: string, status: OrderStatus | null, quantity: number | null): void {
    const fresh = this._phase !== 'ordered';
    this._enter('ordered');
    this._order.watch(orderId, status, quantity, fresh);
  }

  /** polling: the fallback while the live channel is down, and the occasional re-measure */
  private async _pollStanding(): Promise<number | null> {
    const phase = this._phase;
    if (!this._ticket || !(phase === 'prequeue' || phase === 'queued' || phase === 'admitted')) return null;
    const r = await shopperApi.me(this.saleId, this._ticket);
    if (r.ok) {
      this._pollFailures = 0;
      this._notice.show(r.value.notice);
      this._applyStanding(r.value, this.clock.now() - (r.receivedAt - r.sentAt) / 2);
      if (this.live()) return this._phase === 'queued' ? this._resyncMs() : null;
      this._pollEveryMs = Math.max(1_000, r.value.retryAfterMs ?? 5_000);
      this._render();
      return r.value.retryAfterMs === null ? null : this._pollEveryMs;
    }
    if (TICKET_CODES.has(r.code)) {
      this._forgetTicket();
      void this._join();
      return null;
    }
    this._pollFailures++;
    this._render();
    return Math.max(r.retryAfterMs ?? 0, Math.min(30_000, 1_000 * 2 ** Math.min(this._pollFailures, 5))) + jitter(1_000);
  }

  /** re-measure less often in a long line: 100,000 pages asking every 30 s is 3,000 requests a second */
  private _resyncMs(): number {
    const base = Math.min(120_000, Math.max(20_000, (this._waiting ?? 0) * 1));
    return base * (0.75 + Math.random() * 0.5);
  }

  private _onLiveState(s: LiveState): void {
    clearTimeout(this._fallbackTimer);
    this._order.liveChanged();
    if (s === 'live') {
      this._refusals = 0;
      // what happened while we were away (an admission pushed meanwhile is lost): ask once
      if (this._phase === 'prequeue' || this._phase === 'queued') {
        this._poller.start(this._resyncMs());
        this._poller.soon(1_000);
      }
      // back after being away: a turn whose pages were all gone past the grace was given to
      // the next shopper (ABANDON_GRACE_SECONDS); ask whether this one still holds
      if (this._phase === 'admitted') this._poller.soon();
    } else {
      this._fallbackTimer = setTimeout(() => {
        if (!this.live() && (this._phase === 'prequeue' || this._phase === 'queued')) {
          this._poller.start();
          this._poller.soon();
        }
        this._render();
      }, FALLBACK_AFTER_MS);
    }
    this._render();
  }

  // --- showing it -----------------------------------------------------------------------------

  /** a signed-in account's orders across the shop's sales, under the page's own story */
  private async _showMyOrders(): Promise<void> {
    const r = await shopperApi.myOrders();
    const section = document.getElementById('my-orders');
    const list = document.getElementById('my-orders-list');
    if (!r.ok || !section || !list || r.value.length === 0) return;
    list.replaceChildren(
      ...r.value.map((o) => {
        const li = document.createElement('li');
        li.dataset.order = o.orderId;
        li.textContent = text.t('myOrder', { sale: o.saleName, quantity: o.quantity, status: text.t(MY_ORDER_STATUS[o.status]) });
        return li;
      }),
    );
    section.hidden = false;
  }

  /** the sale does not take this shopper: said plainly, with no place taken and nothing to retry */
  private _refused(title: string, why: string, action?: Outcome['action']): void {
    this._refusal = { title, text: why, ...(action ? { action } : {}) };
    this._enter('refused');
  }

  private _refusal: { title: string; text: string; action?: Outcome['action'] } = { title: '', text: '' };

  private _enter(phase: Phase, code?: string): void {
    const was = this._phase;
    this._phase = phase;
    if (phase !== 'scheduled') clearTimeout(this._joinTimer);
    if (phase !== 'admitted') this._checkout.close();
    if (phase !== 'queued' && phase !== 'prequeue') this.announcer.cancel();
    if (phase === 'prequeue' || phase === 'queued') {
      this._poller.start(this.live() ? this._resyncMs() : this._pollEveryMs);
    } else if (phase !== 'admitted') {
      this._poller.stop();
    }
    if (phase === 'sold_out' || phase === 'ended' || phase === 'not_found' || phase === 'refused') this._live.close();
    switch (phase) {
      case 'loading':
        this._view.card('loading', phase);
        break;
      case 'scheduled':
      case 'prequeue':
        this._view.card('before', phase);
        if (phase === 'prequeue' && was !== 'prequeue') this.announcer.now(text.t('prequeueSay'));
        break;
      case 'queued':
        this._view.card('queue', phase);
        if (was !== 'queued') this._lastPosition = null;
        break;
      case 'admitted':
        this._view.card('checkout', phase);
        break;
      case 'ordered':
        this._view.card('order', phase);
        break;
      case 'expired':
        this._view.outcome({
          kind: phase,
          title: text.t('expiredTitle'),
          text: text.t('expiredText'),
          action: { label: text.t('joinAgain'), run: () => void this._rejoin() },
        });
        this._view.card('outcome', phase);
        if (was !== phase) this.announcer.now(text.t('expiredSay'));
        break;
      case 'sold_out':
        this._view.outcome({
          kind: phase,
          title: text.t('soldOutTitle'),
          text: text.t(was === 'admitted' ? 'soldOutLate' : 'soldOutText'),
        });
        this._view.card('outcome', phase);
        if (was !== phase) this.announcer.now(text.t('soldOutSay'));
        break;
      case 'ended':
        this._view.outcome({ kind: phase, title: text.t('endedTitle'), text: text.t('endedText') });
        this._view.card('outcome', phase);
        if (was !== phase) this.announcer.now(text.t('endedSay'));
        break;
      case 'not_found':
        this._view.saleName(text.t('notFoundName'));
        this._view.outcome({ kind: phase, title: text.t('notFoundTitle'), text: text.t('notFoundText') });
        this._view.card('outcome', phase);
        break;
      case 'refused':
        this._view.outcome({ kind: phase, ...this._refusal });
        this._view.card('outcome', phase);
        if (was !== phase) this.announcer.now(text.t('titleAndText', { title: this._refusal.title, text: this._refusal.text }));
        break;
      case 'retrying':
        break;
      case 'error':
        this._view.outcome({
          kind: phase,
          title: text.t('errorTitle'),
          text: text.t('errorText', { code: code ?? 'UNEXPECTED' }),
          action: { label: text.t('reload'), run: () => location.reload() },
        });
        this._view.card('outcome', phase);
        break;
    }
    this._render();
  }

  private async _rejoin(): Promise<void> {
    this._view.outcomeBusy(text.t('joining'));
    this._position.reset();
    this._eta.update(null);
    this._drawAsked = false;
    await this._join();
    if (this._phase === 'queued' && this._position.position !== null) {
      this.announcer.now(text.t('backInLine', { position: this._position.position }));
    }
  }

  /** a few times a second: countdowns, and a check that the estimate has not run past the front */
  private _frame(): void {
    const now = this.clock.now();
    switch (this._phase) {
      case 'scheduled':
      case 'prequeue':
        // the start passed without word from the live channel: ask once
        if (this._phase === 'prequeue' && this._sale && now >= this._sale.startsAt + 2_000 && !this._drawAsked) this._askForDraw();
        this._renderBefore(now);
        return;
      case 'admitted':
        this._checkout.tick();
        return;
      case 'ordered':
        this._order.tick();
        return;
      case 'queued':
        // the position says we are past the front but no admission came: ask where we stand
        if (this._position.overrun > 0) {
          this._overrunSince ??= now;
          if (now - this._overrunSince > 1_500) {
            this._overrunSince = now + 10_000;
            this._poller.soon(500);
          }
        } else this._overrunSince = null;
        return;
      default:
        return;
    }
  }

  private _renderBefore(now: number): void {
    const sale = this._sale;
    if (!sale) return;
    this._view.before({
      lineOpensAt: this._phase === 'scheduled' ? sale.prequeueOpensAt : null,
      startsAt: sale.startsAt,
      now,
      queueMode: sale.queueMode,
      position: this._position.position,
      joined: this._phase === 'prequeue',
    });
  }

  private _render(): void {
    const phase = this._phase;
    // connection line (nothing to follow once the story is over)
    if (
      phase === 'sold_out' ||
      phase === 'ended' ||
      phase === 'not_found' ||
      phase === 'refused' ||
      phase === 'error' ||
      phase === 'retrying'
    ) {
      this._view.connection('off');
    } else if (this.live()) this._view.connection('live');
    else if (this._poller.active && (phase === 'prequeue' || phase === 'queued')) this._view.connection('polling', this._pollEveryMs);
    else this._view.connection('connecting');

    const waitingPhase = phase === 'prequeue' || phase === 'queued' || phase === 'scheduled';
    this._view.banner(
      waitingPhase && this._pollFailures > 1
        ? text.t('bannerTrouble')
        : waitingPhase && this._saleStatus === 'suspended'
          ? text.t('bannerSuspended')
          : waitingPhase && this._saleStatus === 'paused'
            ? text.t('bannerPaused')
            : waitingPhase && this._saleStatus === 'held'
              ? text.t('bannerHeld')
              : null,
    );

    if (phase === 'scheduled' || phase === 'prequeue') {
      this._renderBefore(this.clock.now());
      this._view.title(phase === 'prequeue' ? text.t('tabPrequeue') : null);
      return;
    }
    if (phase === 'queued') return this._renderQueue();
    this._view.title(
      phase === 'admitted'
        ? text.t('tabTurn')
        : phase === 'ordered'
          ? text.t('tabOrdered')
          : phase === 'sold_out'
            ? text.t('tabSoldOut')
            : null,
    );
  }

  private _renderQueue(): void {
    const position = this._position.position;
    const paused = this._saleStatus === 'paused' || this._saleStatus === 'suspended';
    const perSecond = this._rate.perSecond;
    let eta: Range | null = null;
    let note: string | null = null;
    if (position === null) note = '…';
    else if (paused) note = text.t('etaPaused');
    else if (this._saleStatus === 'held') note = text.t('etaHeld');
    else if (perSecond !== null && perSecond > 1e-4) eta = this._eta.update(position / perSecond);
    else note = text.t('etaStill');
    if (eta === null) this._eta.update(null);
    this._view.queue({
      position,
      ahead: this._position.ahead,
      eta,
      etaNote: note,
      progress: this._position.progress,
      waiting: this._waiting,
      remaining: this._remaining,
      stock: this._sale?.stock ?? null,
    });
    this._view.title(position === null ? text.t('tabInLine') : text.t('tabPosition', { position }));
    if (position !== null && position !== this._lastPosition) {
      const words = eta ? text.t('positionEtaSay', { position, eta: text.range(eta) }) : text.t('positionSay', { position });
      if (this._lastPosition === null) this.announcer.now(words);
      else this.announcer.progress(words);
      this._lastPosition = position;
    }
  }
}

/**
 * The shop's signed identity from the address (`/sales/<id>?identity=<jwt>`), removed from the
 * address bar at once: it must not stay in the history, a bookmark or a shared link.
 */
function takeIdentityFromAddress(): string | null {
  const url = new URL(location.href);
  const identity = url.searchParams.get('identity');
  if (identity === null) return null;
  url.searchParams.delete('identity');
  history.replaceState(history.state, '', url.pathname + url.search + url.hash);
  return identity;
}

/** `?return=<path>`: the shop's gated page (a path of this site only, never another origin) */
function returnPath(): string | null {
  const to = new URL(location.href).searchParams.get('return');
  if (!to || !to.startsWith('/') || to.startsWith('//') || to.includes('\\')) return null;
  const url = new URL(to, location.origin);
  return url.origin === location.origin ? url.pathname + url.search + url.hash : null;
}

const saleId = decodeURIComponent(location.pathname.split('/').filter(Boolean)[1] ?? '');
new WaitingRoom(saleId).start();
