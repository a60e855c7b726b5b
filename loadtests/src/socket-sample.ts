/**
 * A sample of shoppers that also listen over socket.io, as the waiting-room page does:
 * `io(base, { auth: { ticket }, transports: ['websocket'] })`; the server sends
 * `sale:update` once per admission tick to the sale's room, `queue:admitted` to the visitor
 * and `order:update` to the buyer.
 *
 * Optional by design: the sampled shoppers keep polling, so a gateway without live updates
 * (or a socket that never connects) changes the figures reported here, never the outcome.
 */
import type { ClientToServerEvents, ServerToClientEvents } from '@velvet-rope/contracts';
import { io, type Socket } from 'socket.io-client';

type LiveSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface SocketHandlers {
  onAdmitted(token: string, expiresAt: number): void;
  onOrder(orderId: string, status: string): void;
}

export interface SocketFigures {
  readonly sampled: number;
  readonly connected: number;
  readonly failed: number;
  readonly saleUpdates: number;
  /** sale:update events per connected socket per second of connection */
  readonly saleUpdatesPerSocketSecond: number;
  readonly admittedEvents: number;
  readonly orderUpdates: number;
  /** socket shoppers who got their turn through the push before their next poll */
  readonly admittedByPush: number;
  readonly firstError: string | null;
}

function rec(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
}

export class SocketSample {
  #sampled = 0;
  #connected = 0;
  #failed = 0;
  #saleUpdates = 0;
  #admittedEvents = 0;
  #orderUpdates = 0;
  admittedByPush = 0;
  #firstError: string | null = null;
  #connectedMs = 0;
  readonly #open = new Map<LiveSocket, number>();

  constructor(
    private readonly baseUrl: string,
    private readonly saleId: string,
    private readonly timeoutMs = 5_000,
  ) {}

  /** Opens the shopper's page socket; the answer closes it (the page closed). */
  open(ticket: string, handlers: SocketHandlers): () => void {
    this.#sampled++;
    const socket: LiveSocket = io(this.baseUrl, {
      auth: { ticket },
      transports: ['websocket'],
      reconnection: false,
      timeout: this.timeoutMs,
      forceNew: true,
    });
    let wasConnected = false;
    socket.on('connect', () => {
      if (!wasConnected) this.#connected++;
      wasConnected = true;
      this.#open.set(socket, Date.now());
    });
    socket.on('connect_error', (err: Error) => {
      if (!wasConnected) this.#failed++;
      this.#firstError ??= `connect_error: ${err.message}`;
      socket.close();
    });
    socket.on('disconnect', () => this.#closed(socket));
    socket.on('sale:update', (e: unknown) => {
      if (rec(e)?.saleId === undefined || rec(e)?.saleId === this.saleId) this.#saleUpdates++;
    });
    socket.on('queue:admitted', (e: unknown) => {
      const r = rec(e);
      if (!r || typeof r.token !== 'string') return;
      if (r.saleId !== undefined && r.saleId !== this.saleId) return;
      this.#admittedEvents++;
      const exp = typeof r.expiresAt === 'number' ? r.expiresAt : Date.parse(String(r.expiresAt));
      handlers.onAdmitted(r.token, exp);
    });
    socket.on('order:update', (e: unknown) => {
      const r = rec(e);
      if (!r || typeof r.orderId !== 'string') return;
      this.#orderUpdates++;
      handlers.onOrder(r.orderId, String(r.status));
    });
    return () => {
      this.#closed(socket);
      socket.close();
    };
  }

  #closed(socket: LiveSocket): void {
    const since = this.#open.get(socket);
    if (since !== undefined) {
      this.#connectedMs += Date.now() - since;
      this.#open.delete(socket);
    }
  }

  close(): void {
    for (const socket of [...this.#open.keys()]) {
      this.#closed(socket);
      socket.close();
    }
  }

  figures(): SocketFigures {
    const seconds = (this.#connectedMs + [...this.#open.values()].reduce((n, t) => n + (Date.now() - t), 0)) / 1000;
    return {
      sampled: this.#sampled,
      connected: this.#connected,
      failed: this.#failed,
      saleUpdates: this.#saleUpdates,
      saleUpdatesPerSocketSecond: seconds > 0 ? Math.round((this.#saleUpdates / seconds) * 100) / 100 : 0,
      admittedEvents: this.#admittedEvents,
      orderUpdates: this.#orderUpdates,
      admittedByPush: this.admittedByPush,
      firstError: this.#firstError,
    };
  }
}
