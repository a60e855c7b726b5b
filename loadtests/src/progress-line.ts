/**
 * A progress line on stderr: rewritten in place on a terminal, else printed as a new line
 * every few seconds (CI logs stay short and readable).
 */
export class ProgressLine {
  #last = 0;
  #width = 0;
  readonly #tty: boolean;

  constructor(
    private readonly enabled: boolean,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly plainEveryMs = 5_000,
  ) {
    this.#tty = Boolean(stream.isTTY);
  }

  update(text: string, force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (this.#tty) {
      const pad = Math.max(0, this.#width - text.length);
      this.stream.write(`\r${text}${' '.repeat(pad)}`);
      this.#width = text.length;
    } else if (force || now - this.#last >= this.plainEveryMs) {
      this.stream.write(`${text}\n`);
      this.#last = now;
    }
  }

  /** a line that stays (phase changes, results) */
  say(text: string): void {
    if (!this.enabled) return;
    if (this.#tty && this.#width > 0) {
      this.stream.write(`\r${' '.repeat(this.#width)}\r`);
      this.#width = 0;
    }
    this.stream.write(`${text}\n`);
  }

  done(): void {
    if (this.enabled && this.#tty && this.#width > 0) this.stream.write('\n');
    this.#width = 0;
  }
}
