/**
 * A TCP proxy a test puts between a service and one of its dependencies (Redis, PostgreSQL,
 * RabbitMQ), and then tells what the network does to that link:
 *
 * - `latency(ms)`: every chunk, each way, arrives `ms` later (order kept);
 * - `blackhole()`: connections are accepted and nothing is answered, nothing is closed: bytes
 *   each way are held (as the peers' TCP would keep retransmitting them) and delivered in
 *   order by `heal()`, unless a peer gave up and closed first; `blackhole('down')` holds only
 *   the dependency's answers (a request arrives and is acted on, its client never hears);
 * - `holdAnswersAfter(text)`: bytes pass until a client sends `text` (e.g. `COMMIT`); from
 *   then on that connection's answers are held: the dependency acts on the request and its
 *   client cannot know the outcome;
 * - `cut()`: every open connection is destroyed now (both peers see the connection reset);
 *   new ones pass;
 * - `halfClose()`: the side toward each connected client is ended (it reads EOF) while its
 *   own writes still reach the dependency;
 * - `heal()`: back to passing bytes through at once.
 *
 * Only 127.0.0.1. No packet is dropped inside a stream: a dependency's protocol never sees a
 * corrupted stream, only one that is late, stalled, reset or half-closed, which is what a
 * real network does to a TCP connection.
 */
import * as net from 'node:net';

type Direction = 'up' | 'down';
type Mode =
  | { readonly kind: 'pass' }
  | { readonly kind: 'latency'; readonly ms: number }
  | { readonly kind: 'blackhole'; readonly directions: readonly Direction[] }
  | { readonly kind: 'hold-answers-after'; readonly needle: Buffer };

interface Link {
  readonly client: net.Socket;
  readonly upstream: net.Socket;
  /** bytes (and a FIN: 'end') held while blackholed, per direction */
  readonly held: Record<Direction, (Buffer | 'end')[]>;
  /** what is on its way per direction, in stream order, each with when it is due */
  readonly queue: Record<Direction, { at: number; what: Buffer | 'end' }[]>;
  /** the one timer per direction that delivers the queue's head when due */
  readonly timer: Record<Direction, NodeJS.Timeout | undefined>;
  /** `holdAnswersAfter` saw its request on this connection: its answers are held */
  holding: boolean;
}

export interface FaultProxyStats {
  /** connections accepted so far */
  readonly accepted: number;
  /** connections open now */
  readonly open: number;
  /** bytes held right now by a blackhole */
  readonly heldBytes: number;
}

export class FaultProxy {
  readonly #links = new Set<Link>();
  #mode: Mode = { kind: 'pass' };
  #accepted = 0;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    readonly target: { readonly host: string; readonly port: number },
  ) {
    server.on('connection', (client: net.Socket) => this.#accept(client));
  }

  /** Listens on 127.0.0.1 (a free port, or `port`) and forwards to `target`. */
  static async start(target: { host?: string; port: number }, port = 0): Promise<FaultProxy> {
    // half-open both ways: a peer's FIN is passed on by the proxy, when the fault allows it
    const server = net.createServer({ noDelay: true, allowHalfOpen: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const address = server.address() as net.AddressInfo;
    return new FaultProxy(server, address.port, { host: target.host ?? '127.0.0.1', port: target.port });
  }

  /** `url` with its host and port replaced by the proxy's (credentials, path and query kept) */
  rewrite(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  get mode(): string {
    const m = this.#mode;
    return m.kind === 'latency' ? `latency ${m.ms} ms` : m.kind === 'blackhole' ? `blackhole ${m.directions.join('+')}` : m.kind;
  }

  get stats(): FaultProxyStats {
    let heldBytes = 0;
    for (const l of this.#links) for (const d of ['up', 'down'] as const) for (const b of l.held[d]) if (b !== 'end') heldBytes += b.length;
    return { accepted: this.#accepted, open: this.#links.size, heldBytes };
  }

  latency(ms: number): void {
    this.#flushHeld();
    this.#mode = { kind: 'latency', ms };
  }

  /** `up`: toward the dependency; `down`: its answers back to the client */
  blackhole(which: 'both' | Direction = 'both'): void {
    this.#mode = { kind: 'blackhole', directions: which === 'both' ? ['up', 'down'] : [which] };
  }

  holdAnswersAfter(text: string): void {
    this.#mode = { kind: 'hold-answers-after', needle: Buffer.from(text) };
  }

  /** connections whose answers `holdAnswersAfter` is holding */
  get holding(): number {
    let n = 0;
    for (const l of this.#links) if (l.holding) n++;
    return n;
  }

  heal(): void {
    for (const l of this.#links) l.holding = false;
    this.#mode = { kind: 'pass' };
    this.#flushHeld();
  }

  cut(): void {
    for (const l of [...this.#links]) this.#drop(l, true);
  }

  halfClose(): void {
    for (const l of this.#links) l.client.end();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  #accept(client: net.Socket): void {
    this.#accepted++;
    client.setNoDelay(true);
    const upstream = net.connect({ host: this.target.host, port: this.target.port, noDelay: true, allowHalfOpen: true });
    const link: Link = {
      client,
      upstream,
      held: { up: [], down: [] },
      queue: { up: [], down: [] },
      timer: { up: undefined, down: undefined },
      holding: false,
    };
    this.#links.add(link);
    // a peer's FIN is passed on like its bytes: after what it sent before it
    client.on('data', (chunk: Buffer) => this.#forward(link, 'up', chunk));
    client.on('end', () => this.#forward(link, 'up', 'end'));
    upstream.on('data', (chunk: Buffer) => this.#forward(link, 'down', chunk));
    upstream.on('end', () => this.#forward(link, 'down', 'end'));
    for (const s of [client, upstream]) {
      s.on('error', () => this.#drop(link, true));
      s.on('close', () => this.#drop(link, false));
    }
  }

  #forward(link: Link, dir: Direction, what: Buffer | 'end'): void {
    const mode = this.#mode;
    if (mode.kind === 'hold-answers-after' && dir === 'up' && what !== 'end' && what.includes(mode.needle)) link.holding = true;
    if ((mode.kind === 'blackhole' && mode.directions.includes(dir)) || (dir === 'down' && link.holding)) {
      link.held[dir].push(what);
      return;
    }
    // one FIFO per direction, delivered by one pump: nothing overtakes what was sent before it,
    // whatever the latency was when each chunk came (separate timers could fire out of order)
    const q = link.queue[dir];
    const last = q.length > 0 ? q[q.length - 1]!.at : 0;
    // held bytes of this direction go first: nothing overtakes them
    if (link.held[dir].length > 0) {
      link.held[dir].push(what);
      return;
    }
    q.push({ at: Math.max(Date.now() + (mode.kind === 'latency' ? mode.ms : 0), last), what });
    this.#pump(link, dir);
  }

  #pump(link: Link, dir: Direction): void {
    const q = link.queue[dir];
    while (q.length > 0 && q[0]!.at <= Date.now()) this.#deliver(link, dir, q.shift()!.what);
    if (q.length === 0 || link.timer[dir] !== undefined) return;
    link.timer[dir] = setTimeout(() => {
      link.timer[dir] = undefined;
      this.#pump(link, dir);
    }, q[0]!.at - Date.now());
    link.timer[dir].unref();
  }

  #deliver(link: Link, dir: Direction, what: Buffer | 'end'): void {
    const to = dir === 'up' ? link.upstream : link.client;
    if (to.destroyed || !to.writable) return;
    if (what === 'end') to.end();
    else to.write(what);
  }

  #flushHeld(): void {
    for (const l of this.#links) for (const dir of ['up', 'down'] as const) for (const w of l.held[dir].splice(0)) this.#forward(l, dir, w);
  }

  #drop(link: Link, reset: boolean): void {
    if (!this.#links.delete(link)) return;
    for (const d of ['up', 'down'] as const) clearTimeout(link.timer[d]);
    for (const s of [link.client, link.upstream]) {
      if (reset) s.resetAndDestroy();
      else s.destroy();
    }
  }
}
