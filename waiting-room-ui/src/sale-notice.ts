/**
 * The marketer's notice on the waiting page (issue 16 item 8): shown at the top, as text only
 * (never HTML), and read out by screen readers when it arrives or changes: through the polite
 * live region for `info`, the assertive one for `warning`. It arrives on the live channel
 * (`sale:notice`), in the sale's answer and in every `/queue/me` poll; the same notice again
 * is neither redrawn nor announced again.
 */
import { setText, show } from './dom.js';
import type { Notice } from './shapes.js';
import { text } from './shopper-text.js';

export interface NoticeElements {
  readonly box: HTMLElement;
  readonly label: HTMLElement;
  readonly text: HTMLElement;
  readonly polite: HTMLElement;
  readonly assertive: HTMLElement;
}

export class NoticeBoard {
  private _shown: string | null = null;

  constructor(private readonly el: NoticeElements) {}

  /** the notice now in force (null: none) */
  show(notice: Notice | null): void {
    const key = notice ? `${notice.at}|${notice.level}|${notice.message}` : null;
    if (key === this._shown) return;
    this._shown = key;
    if (!notice) {
      show(this.el.box, false);
      return;
    }
    const warning = notice.level === 'warning';
    this.el.box.className = `notice notice-${notice.level}`;
    this.el.box.dataset.level = notice.level;
    setText(this.el.label, text.t(warning ? 'importantLabel' : 'noticeLabel'));
    // textContent: the marketer's words are text, whatever characters they hold
    setText(this.el.text, notice.message);
    show(this.el.box, true);
    const region = warning ? this.el.assertive : this.el.polite;
    const words = text.t(warning ? 'importantSay' : 'noticeSay', { message: notice.message });
    region.textContent = '';
    // a change after a short pause is what screen readers pick up reliably
    setTimeout(() => {
      region.textContent = words;
    }, 50);
  }
}
