/**
 * The shop's OpenID Connect provider (OIDC_ISSUER), as openid-client v6 sees it: its metadata
 * found by discovery, lazily and again after a failure, so that the gateway boots and serves
 * its sales while the provider is down; until discovery works, a sign-in is answered 503
 * UNAVAILABLE with Retry-After, never a hang or a 500. A failed discovery is retried at most
 * every RETRY_AFTER_MS, whatever the number of shoppers asking meanwhile.
 */
import * as client from 'openid-client';
import type { OidcConfig } from '../config.js';
import { AppError } from '../errors.js';

const RETRY_AFTER_MS = 2_000;
const DISCOVERY_TIMEOUT_SECONDS = 5;

export class OpenIdProvider {
  #configuration: client.Configuration | undefined;
  #pending: Promise<client.Configuration> | undefined;
  #failedAt = 0;

  constructor(
    readonly config: OidcConfig,
    private readonly log: { warn(obj: object, msg: string): void },
  ) {}

  /** The provider's metadata; throws 503 UNAVAILABLE while it cannot be discovered. */
  async configuration(now = Date.now()): Promise<client.Configuration> {
    if (this.#configuration) return this.#configuration;
    if (!this.#pending && now - this.#failedAt < RETRY_AFTER_MS) throw unavailable();
    this.#pending ??= this.#discover();
    try {
      return await this.#pending;
    } catch {
      throw unavailable();
    }
  }

  /** starts discovery without waiting for it (at boot): the first sign-in need not wait */
  warmUp(): void {
    this.configuration().catch(() => undefined);
  }

  async #discover(): Promise<client.Configuration> {
    const issuer = new URL(this.config.issuer);
    try {
      this.#configuration = await client.discovery(
        issuer,
        this.config.clientId,
        undefined,
        client.ClientSecretBasic(this.config.clientSecret),
        {
          timeout: DISCOVERY_TIMEOUT_SECONDS,
          // config.ts takes http only for a loopback issuer (a development provider)
          ...(issuer.protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : {}),
        },
      );
      return this.#configuration;
    } catch (err) {
      this.#failedAt = Date.now();
      this.log.warn(
        { issuer: this.config.issuer, err: (err as Error).message },
        'OpenID Connect discovery failed; sign-in answers 503 until it works',
      );
      throw err;
    } finally {
      this.#pending = undefined;
    }
  }
}

function unavailable(): AppError {
  return new AppError('UNAVAILABLE', "the shop's sign-in service cannot be reached right now; try again in a moment", undefined, 2);
}
