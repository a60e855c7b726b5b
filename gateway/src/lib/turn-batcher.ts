/**
 * Gathers what arrives in one event-loop turn and sends it as one batch per key, on
 * `setImmediate`: after every socket that was readable in this turn has been read, so a quiet
 * gateway adds no delay and a busy one pays a script call, a broker confirm, a network write
 * once for everything that arrived together. Batches are sent as soon as they are cut: a
 * batch in flight never holds back the next one.
 */
export type SendBatch<T, R> = (key: string, items: readonly T[]) => Promise<readonly R[]>;

interface Waiting<T, R> {
  readonly item: T;
  readonly resolve: (r: R) => void;
  readonly reject: (err: unknown) => void;
}

export class TurnBatcher<T, R> {
  #waiting = new Map<string, Waiting<T, R>[]>();
  #scheduled = false;

  /**
   * `send` answers one result per item, in order; when it rejects, every item of the batch
   * rejects with its error. `maxBatch`: a key's batch is cut at this size at once.
   */
  constructor(
    private readonly send: SendBatch<T, R>,
    private readonly maxBatch: number,
    /**
     * `turn`: send on setImmediate (what the sockets brought in this turn); `microtask`: send
     * once the current run of promise continuations is done (items that one answer released
     * together, e.g. the orders of one reserve call), without waiting for the next turn
     */
    private readonly cut: 'turn' | 'microtask' = 'turn',
  ) {}

  add(key: string, item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      let list = this.#waiting.get(key);
      if (!list) this.#waiting.set(key, (list = []));
      list.push({ item, resolve, reject });
      if (list.length >= this.maxBatch) {
        this.#waiting.delete(key);
        this.#sendBatch(key, list);
      } else if (!this.#scheduled) {
        this.#scheduled = true;
        if (this.cut === 'turn') setImmediate(() => this.#flush());
        else queueMicrotask(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const all = this.#waiting;
    this.#waiting = new Map();
    for (const [key, list] of all) this.#sendBatch(key, list);
  }

  #sendBatch(key: string, list: readonly Waiting<T, R>[]): void {
    let sent: Promise<readonly R[]>;
    try {
      sent = this.send(
        key,
        list.map((w) => w.item),
      );
    } catch (err) {
      sent = Promise.reject(err);
    }
    sent.then(
      (results) => {
        list.forEach((w, i) => {
          if (i < results.length) w.resolve(results[i]!);
          else w.reject(new Error(`batch answered ${results.length} results for ${list.length} items`));
        });
      },
      (err: unknown) => {
        for (const w of list) w.reject(err);
      },
    );
  }
}
