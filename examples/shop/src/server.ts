/**
 * The example shop's process: read the configuration, build the app, listen, print where it
 * is, and close gracefully on SIGTERM / SIGINT.
 */
import { buildShop } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { startIdentityProvider, type IdentityProvider } from './identity-provider.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`example shop: bad configuration: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const app = await buildShop(config);
  let identityProvider: IdentityProvider | undefined;
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    Promise.all([app.close(), identityProvider?.close()]).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // run by `npm start` (scripts/start.mjs) over an IPC channel: that script gone is a stop
  process.channel?.unref();
  process.on('disconnect', () => shutdown('parent exited'));
  const address = await app.listen({ port: config.port, host: config.host });
  app.log.info({ address, velvetRope: config.velvetRopeUrl, sales: config.saleIds }, 'example shop listening');
  if (config.oidc) {
    identityProvider = await startIdentityProvider(config.oidc, config.host);
    app.log.info(
      { address: identityProvider.url, issuer: config.oidc.issuer, redirectUri: config.oidc.redirectUri },
      'example shop OpenID provider listening',
    );
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`example shop failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
