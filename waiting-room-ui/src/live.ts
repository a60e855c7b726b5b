/**
 * The live channel: socket.io to the gateway, authenticated with the queue ticket (or, before
 * the shopper holds one, following the sale's room only). socket.io reconnects on its own after
 * a network failure; a refusal by the server (a bad or expired ticket) is final for that ticket,
 * so it is handed to the page, which gets a fresh one and reconnects.
 */
import type { ClientToServerEvents, ServerToClientEvents, SocketAuth } from '@velvet-rope/contracts/socket-events';
import { io, type Socket } from 'socket.io-client';
import {
  parseAdmitted,
  parseOrderUpdate,
  parseSaleNotice,
  parseSaleUpdate,
  type Admission,
  type Notice,
  type OrderStatus,
  type SaleUpdate,
} from './shapes.js';

export type LiveState = 'connecting' | 'live' | 'down';

export interface LiveHandlers {
  saleUpdate(e: SaleUpdate): void;
  admitted(e: Admission): void;
  orderUpdate(e: { orderId: string; status: OrderStatus }): void;
  /** the marketer's notice set, or cleared (null) */
  notice?(notice: Notice | null): void;
  state(s: LiveState): void;
  /** the server refused the ticket (code: INVALID_TICKET, TOKEN_EXPIRED, ...) */
  refused(code: string): void;
}

export class LiveChannel {
  private _socket: Socket<ServerToClientEvents, ClientToServerEvents> | null = null;
  private _auth: string | null = null;
  private _state: LiveState = 'down';

  constructor(
    private readonly saleId: string,
    private readonly on: LiveHandlers,
  ) {}

  get state(): LiveState {
    return this._state;
  }

  /** (re)connects with this ticket, or as a follower of the sale when there is none */
  connect(ticket: string | null): void {
    const auth = ticket ?? `sale:${this.saleId}`;
    // already connected (or reconnecting) as the same shopper: nothing to change
    if (this._socket && this._auth === auth && this._socket.active) return;
    this.close();
    this._auth = auth;
    const handshakeAuth: SocketAuth = ticket ? { ticket } : { saleId: this.saleId };
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io({
      auth: handshakeAuth,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 10_000,
      randomizationFactor: 0.5,
      timeout: 10_000,
    });
    this._socket = socket;
    this._set('connecting');
    socket.on('connect', () => this._set('live'));
    socket.on('disconnect', () => {
      if (socket.active) {
        this._set('connecting');
        return;
      }
      // the server closed us (a gateway shutting down): come back, to another one, in a while
      this._set('down');
      setTimeout(
        () => {
          if (this._socket === socket) socket.connect();
        },
        1000 + Math.random() * 4000,
      );
    });
    socket.on('connect_error', (err: Error) => {
      if (socket.active) {
        // a network failure: socket.io tries again by itself
        this._set('down');
        return;
      }
      this._set('down');
      this.on.refused(err.message);
    });
    const guard =
      <T extends { saleId: string }>(parse: (v: unknown) => T, handle: (e: T) => void) =>
      (raw: unknown) => {
        let e: T;
        try {
          e = parse(raw);
        } catch {
          return; // a message we do not understand is dropped, not a broken page
        }
        if (e.saleId === this.saleId) handle(e);
      };
    socket.on(
      'sale:update',
      guard(parseSaleUpdate, (e) => this.on.saleUpdate(e)),
    );
    socket.on(
      'queue:admitted',
      guard(parseAdmitted, (e) => this.on.admitted(e)),
    );
    socket.on(
      'order:update',
      guard(parseOrderUpdate, (e) => this.on.orderUpdate(e)),
    );
    socket.on(
      'sale:notice',
      guard(parseSaleNotice, (e) => this.on.notice?.(e.notice)),
    );
  }

  close(): void {
    if (!this._socket) return;
    this._socket.removeAllListeners();
    this._socket.disconnect();
    this._socket = null;
    this._set('down');
  }

  private _set(s: LiveState): void {
    if (s === this._state) return;
    this._state = s;
    this.on.state(s);
  }
}
