/**
 * What the shopper sees, apart from the checkout: which card is shown, and the figures in it.
 * The page's state lives in sale.ts; this file only draws it.
 */
import { byId, focusHeading, setText, show } from './dom.js';
import type { Range } from './eta.js';
import type { Product, QueueMode } from './shapes.js';
import { text } from './shopper-text.js';

export type Card = 'loading' | 'before' | 'queue' | 'checkout' | 'order' | 'outcome';
const CARDS: readonly Card[] = ['loading', 'before', 'queue', 'checkout', 'order', 'outcome'];

export interface BeforeFigures {
  /** the line itself is not open yet (the page joins it when it opens) */
  lineOpensAt: number | null;
  startsAt: number;
  now: number;
  queueMode: QueueMode;
  /** known in a FIFO pre-queue only */
  position: number | null;
  joined: boolean;
}

export interface QueueFigures {
  position: number | null;
  ahead: number | null;
  eta: Range | null;
  /** why there is no ETA: the line is paused, or not moving yet */
  etaNote: string | null;
  progress: number;
  waiting: number | null;
  remaining: number | null;
  stock: number | null;
}

export interface Outcome {
  kind: string;
  title: string;
  text: string;
  action?: { label: string; run: () => void };
}

export class SaleView {
  private readonly _cards = new Map(CARDS.map((c) => [c, byId(c)]));
  private readonly _name = byId('sale-name');
  private readonly _banner = byId('banner');
  private readonly _beforeTitle = byId('before-title');
  private readonly _countdownLabel = byId('countdown-label');
  private readonly _countdown = byId('countdown');
  private readonly _startsAt = byId('starts-at');
  private readonly _beforeNote = byId('before-note');
  private readonly _beforeJoined = byId('before-joined');
  private readonly _position = byId('position');
  private readonly _ahead = byId('ahead');
  private readonly _eta = byId('eta');
  private readonly _progress = byId('progress');
  private readonly _progressFill = byId('progress-fill');
  private readonly _lineFacts = byId('line-facts');
  private readonly _outcomeTitle = byId('outcome-title');
  private readonly _outcomeText = byId('outcome-text');
  private readonly _outcomeAction = byId<HTMLButtonElement>('outcome-action');
  private readonly _connection = byId('connection');
  private readonly _connectionText = byId('connection-text');
  private readonly _product = byId('product');
  private readonly _productImage = byId<HTMLImageElement>('product-image');
  private readonly _productDescription = byId('product-description');
  private readonly _productPrice = byId('product-price');
  private readonly _productAmount = byId('product-amount');
  private _hasProduct = false;
  private _card: Card = 'loading';
  private _outcomeRun: (() => void) | null = null;
  private _saleName = '';

  constructor() {
    this._outcomeAction.addEventListener('click', () => this._outcomeRun?.());
  }

  saleName(name: string): void {
    this._saleName = name;
    setText(this._name, name);
    this.title(null);
  }

  /** the tab's title: the place in line shows in a background tab too */
  title(prefix: string | null): void {
    const t = prefix
      ? `${prefix} · ${this._saleName}`
      : this._saleName
        ? text.t('tabTitle', { sale: this._saleName })
        : text.t('tabTitleNoSale');
    if (document.title !== t) document.title = t;
  }

  /** shows one card; `state` names the page's state for styling and for tests */
  card(card: Card, state: string): void {
    const focusLost = document.activeElement instanceof HTMLElement && this._cards.get(this._card)?.contains(document.activeElement);
    for (const [c, e] of this._cards) show(e, c === card);
    if (document.body.dataset.state !== state) {
      document.body.dataset.state = state;
      document.body.dataset.stateAt = String(Date.now());
    }
    if (card !== this._card && focusLost) {
      // the control that had focus disappeared with its card: keep the keyboard user in place
      const heading = this._cards.get(card)?.querySelector<HTMLElement>('h2');
      if (heading) focusHeading(heading);
    }
    this._card = card;
    this._showProduct();
  }

  /**
   * What the sale sells (null: nothing is shown, not even an empty box): the image (alt: the
   * sale's name; its box is sized before it loads, so nothing jumps), the description and the
   * price in the page's language and the sale's currency.
   */
  product(p: Product | null, saleName: string): void {
    const price = p?.price !== undefined && p.currency !== undefined ? text.price(p.price, p.currency) : null;
    const image = p?.imageUrl ?? null;
    const description = p?.description ?? null;
    this._hasProduct = image !== null || description !== null || price !== null;
    show(this._productImage, image !== null);
    if (image !== null && this._productImage.getAttribute('src') !== image) {
      this._productImage.alt = saleName;
      this._productImage.src = image;
    }
    show(this._productDescription, description !== null);
    setText(this._productDescription, description ?? '');
    show(this._productPrice, price !== null);
    setText(this._productAmount, price ?? '');
    if (price !== null) this._productPrice.dataset.currency = p!.currency!;
    this._showProduct();
  }

  /** while waiting, at the turn and at the order (the hand-off to the shop's checkout) */
  private _showProduct(): void {
    const card = this._card;
    show(this._product, this._hasProduct && (card === 'before' || card === 'queue' || card === 'checkout' || card === 'order'));
  }

  banner(text: string | null): void {
    show(this._banner, text !== null);
    if (text !== null) setText(this._banner, text);
  }

  before(f: BeforeFigures): void {
    const opening = f.lineOpensAt !== null && f.now < f.lineOpensAt;
    const target = opening ? f.lineOpensAt! : f.startsAt;
    const left = target - f.now;
    setText(this._beforeTitle, text.t(opening ? 'lineOpensSoon' : f.joined ? 'inPrequeue' : 'saleStartsSoon'));
    setText(this._countdownLabel, text.t(opening ? 'lineOpensIn' : 'saleStartsIn'));
    if (left > 0) {
      setText(this._countdown, text.countdown(left));
      this._countdown.setAttribute('datetime', `PT${Math.ceil(left / 1000)}S`);
      this._countdown.setAttribute('aria-label', text.duration(left));
    } else {
      setText(this._countdown, text.t(opening ? 'opening' : 'starting'));
      this._countdown.removeAttribute('aria-label');
    }
    setText(this._startsAt, text.t('startsAt', { time: text.time(f.startsAt) }));
    const random = f.queueMode !== 'fifo';
    const note = opening
      ? text.t(random ? 'noteOpensRandom' : 'noteOpensFifo')
      : random
        ? text.t('noteRandom')
        : f.position !== null
          ? text.t('noteFifoPosition', { position: f.position })
          : text.t('noteFifo');
    setText(this._beforeNote, note);
    show(this._beforeJoined, f.joined);
  }

  queue(f: QueueFigures): void {
    setText(this._position, f.position === null ? '…' : text.count(f.position));
    setText(
      this._ahead,
      f.ahead === null ? text.t('drawing') : f.ahead === 0 ? text.t('youreNext') : text.plural(f.ahead, 'aheadOne', 'aheadOther'),
    );
    if (f.eta) {
      setText(this._eta, text.range(f.eta));
      this._eta.dataset.lo = String(f.eta.lo);
      this._eta.dataset.hi = String(f.eta.hi);
    } else {
      setText(this._eta, f.etaNote ?? '…');
      delete this._eta.dataset.lo;
      delete this._eta.dataset.hi;
    }
    const pct = Math.round(f.progress * 100);
    this._progress.setAttribute('aria-valuenow', String(pct));
    this._progress.setAttribute(
      'aria-valuetext',
      f.position === null ? text.t('progressUnknown') : text.t('progressValue', { percent: text.percent(pct / 100) }),
    );
    this._progressFill.style.transform = `scaleX(${f.progress})`;
    const facts: string[] = [];
    if (f.waiting !== null) facts.push(text.t('inLine', { count: f.waiting }));
    if (f.remaining !== null && f.stock !== null) facts.push(text.t('left', { remaining: f.remaining, stock: f.stock }));
    setText(this._lineFacts, facts.join(' · '));
  }

  outcome(o: Outcome): void {
    setText(this._outcomeTitle, o.title);
    setText(this._outcomeText, o.text);
    this._outcomeRun = o.action?.run ?? null;
    show(this._outcomeAction, o.action !== undefined);
    if (o.action) setText(this._outcomeAction, o.action.label);
    this._outcomeAction.disabled = false;
    this._cards.get('outcome')!.dataset.kind = o.kind;
  }

  outcomeBusy(label: string): void {
    this._outcomeAction.disabled = true;
    setText(this._outcomeAction, label);
  }

  connection(state: 'live' | 'polling' | 'connecting' | 'off', everyMs?: number): void {
    show(this._connection, state !== 'off');
    this._connection.dataset.state = state;
    setText(
      this._connectionText,
      state === 'live'
        ? text.t('live')
        : state === 'polling'
          ? text.t('polling', { seconds: text.seconds(Math.max(1_000, Math.round((everyMs ?? 5000) / 1000) * 1000)) })
          : text.t('connecting'),
    );
  }
}
