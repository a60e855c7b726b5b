/**
 * The server's clock as seen from the browser. A shopper's own clock may be minutes off; a
 * countdown to the start and a checkout timer must follow the gateway's, which decides.
 * Each answer that carries `serverTime` is one sample; the sample with the shortest round trip
 * bounds the error best, so it wins until a better one comes.
 */
export class ServerClock {
  private _offsetMs = 0;
  private _bestRoundTripMs = Infinity;
  private _sampledAt = 0;

  /** `serverTime` was read somewhere between `sentAt` and `receivedAt` (client clock) */
  sample(serverTime: number, sentAt: number, receivedAt: number): void {
    const roundTrip = Math.max(0, receivedAt - sentAt);
    // a sample loses its standing as it ages (1 ms a second): clocks drift, laptops sleep
    const standing = this._bestRoundTripMs + (receivedAt - this._sampledAt) / 1000;
    if (roundTrip > standing) return;
    this._bestRoundTripMs = roundTrip;
    this._sampledAt = receivedAt;
    this._offsetMs = serverTime - (sentAt + roundTrip / 2);
  }

  get offsetMs(): number {
    return this._offsetMs;
  }

  now(): number {
    return Date.now() + this._offsetMs;
  }
}
