/**
 * What the shopper sees, apart from the checkout: which card is shown, and the figures in it.
 * The page's state lives in sale.ts; this file only draws it.
 */
import { byId, focusHeading, setText, show } from './dom.js';
import { formatRange, type Range } from './eta.js';
import type { QueueMode } from './shapes.js';
import { count, countdown, localTime, spokenDuration } from './time-format.js';

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
  readonly #cards = new Map(CARDS.map((c) => [c, byId(c)]));
  readonly #name = byId('sale-name');
  readonly #banner = byId('banner');
  readonly #beforeTitle = byId('before-title');
  readonly #countdownLabel = byId('countdown-label');
  readonly #countdown = byId('countdown');
  readonly #startsAt = byId('starts-at');
  readonly #beforeNote = byId('before-note');
  readonly #beforeJoined = byId('before-joined');
  readonly #position = byId('position');
  readonly #ahead = byId('ahead');
  readonly #eta = byId('eta');
  readonly #progress = byId('progress');
  readonly #progressFill = byId('progress-fill');
  readonly #lineFacts = byId('line-facts');
  readonly #outcomeTitle = byId('outcome-title');
  readonly #outcomeText = byId('outcome-text');
  readonly #outcomeAction = byId<HTMLButtonElement>('outcome-action');
  readonly #connection = byId('connection');
  readonly #connectionText = byId('connection-text');
  #card: Card = 'loading';
  #outcomeRun: (() => void) | null = null;
  #saleName = '';

  constructor() {
    this.#outcomeAction.addEventListener('click', () => this.#outcomeRun?.());
  }

  saleName(name: string): void {
    this.#saleName = name;
    setText(this.#name, name);
    this.title(null);
  }

  /** the tab's title: the place in line shows in a background tab too */
  title(prefix: string | null): void {
    const t = prefix ? `${prefix} · ${this.#saleName}` : `${this.#saleName || 'Sale'} · waiting room`;
    if (document.title !== t) document.title = t;
  }

  /** shows one card; `state` names the page's state for styling and for tests */
  card(card: Card, state: string): void {
    const focusLost = document.activeElement instanceof HTMLElement && this.#cards.get(this.#card)?.contains(document.activeElement);
    for (const [c, e] of this.#cards) show(e, c === card);
    if (document.body.dataset.state !== state) {
      document.body.dataset.state = state;
      document.body.dataset.stateAt = String(Date.now());
    }
    if (card !== this.#card && focusLost) {
      // the control that had focus disappeared with its card: keep the keyboard user in place
      const heading = this.#cards.get(card)?.querySelector<HTMLElement>('h2');
      if (heading) focusHeading(heading);
    }
    this.#card = card;
  }

  banner(text: string | null): void {
    show(this.#banner, text !== null);
    if (text !== null) setText(this.#banner, text);
  }

  before(f: BeforeFigures): void {
    const opening = f.lineOpensAt !== null && f.now < f.lineOpensAt;
    const target = opening ? f.lineOpensAt! : f.startsAt;
    const left = target - f.now;
    setText(this.#beforeTitle, opening ? 'The line opens soon' : f.joined ? "You're in the pre-queue" : 'The sale starts soon');
    setText(this.#countdownLabel, opening ? 'The line opens in' : 'The sale starts in');
    if (left > 0) {
      setText(this.#countdown, countdown(left));
      this.#countdown.setAttribute('datetime', `PT${Math.ceil(left / 1000)}S`);
      this.#countdown.setAttribute('aria-label', spokenDuration(left));
    } else {
      setText(this.#countdown, opening ? 'Opening…' : 'Starting…');
      this.#countdown.removeAttribute('aria-label');
    }
    setText(this.#startsAt, `Sale starts at ${localTime(f.startsAt)} (your time).`);
    const random = f.queueMode !== 'fifo';
    const note = opening
      ? random
        ? 'When the line opens, this page joins it for you. Your place in line is drawn at random when the sale starts, so there is no need to rush: keep this page open.'
        : 'When the line opens, this page joins it for you. Places are given in order of arrival.'
      : random
        ? 'Your place in line is drawn at random when the sale starts; arriving earlier does not help, and you can leave this page open.'
        : f.position !== null
          ? `You are number ${count(f.position)} in line. Places are given in order of arrival; keep this page open.`
          : 'Places are given in order of arrival; keep this page open.';
    setText(this.#beforeNote, note);
    show(this.#beforeJoined, f.joined);
  }

  queue(f: QueueFigures): void {
    setText(this.#position, f.position === null ? '…' : count(f.position));
    setText(
      this.#ahead,
      f.ahead === null ? 'Drawing your place…' : f.ahead === 0 ? "You're next" : `${count(f.ahead)} ${f.ahead === 1 ? 'shopper' : 'shoppers'}`,
    );
    if (f.eta) {
      setText(this.#eta, formatRange(f.eta));
      this.#eta.dataset.lo = String(f.eta.lo);
      this.#eta.dataset.hi = String(f.eta.hi);
    } else {
      setText(this.#eta, f.etaNote ?? '…');
      delete this.#eta.dataset.lo;
      delete this.#eta.dataset.hi;
    }
    const pct = Math.round(f.progress * 100);
    this.#progress.setAttribute('aria-valuenow', String(pct));
    this.#progress.setAttribute('aria-valuetext', f.position === null ? 'not known yet' : `${pct}% of the way to the front`);
    this.#progressFill.style.transform = `scaleX(${f.progress})`;
    const facts: string[] = [];
    if (f.waiting !== null) facts.push(`${count(f.waiting)} in line`);
    if (f.remaining !== null && f.stock !== null) facts.push(`${count(f.remaining)} of ${count(f.stock)} left`);
    setText(this.#lineFacts, facts.join(' · '));
  }

  outcome(o: Outcome): void {
    setText(this.#outcomeTitle, o.title);
    setText(this.#outcomeText, o.text);
    this.#outcomeRun = o.action?.run ?? null;
    show(this.#outcomeAction, o.action !== undefined);
    if (o.action) setText(this.#outcomeAction, o.action.label);
    this.#outcomeAction.disabled = false;
    this.#cards.get('outcome')!.dataset.kind = o.kind;
  }

  outcomeBusy(label: string): void {
    this.#outcomeAction.disabled = true;
    setText(this.#outcomeAction, label);
  }

  connection(state: 'live' | 'polling' | 'connecting', everyMs?: number): void {
    this.#connection.dataset.state = state;
    setText(
      this.#connectionText,
      state === 'live'
        ? 'Live updates on'
        : state === 'polling'
          ? `Live updates unavailable: checking every ${Math.max(1, Math.round((everyMs ?? 5000) / 1000))} s`
          : 'Connecting for live updates…',
    );
  }
}
