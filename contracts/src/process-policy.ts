/**
 * What a service process does with an error nobody caught, the same in every service.
 *
 * - An unhandled rejection is a bug (a promise nobody awaited), but the state it leaves is
 *   usually sound: logged at error with its stack, counted (`*_unhandled_rejections_total`, an
 *   alert), and the process keeps serving. Exiting would let whoever found the bug stop every
 *   instance with it (issue 12 item 1).
 * - An uncaught exception unwound a stack half way through some work: the process state may
 *   be corrupt. It is logged, then the process closes gracefully within a bound and exits 1;
 *   the supervisor (docker compose `restart:`, systemd, Kubernetes) starts it again.
 */
export interface ProcessPolicyOptions {
  readonly logger: { error(obj: object, msg: string): void; fatal(obj: object, msg: string): void };
  /** counts the unhandled rejections (a Prometheus counter) */
  readonly rejections: { inc(): void };
  /** a graceful close (stop accepting, finish in-flight work, close pools) */
  readonly close: () => Promise<unknown>;
  /** how long the close may take before the process exits anyway */
  readonly closeTimeoutMs?: number;
  /** for tests: where the events come from and how the process ends */
  readonly target?: Pick<NodeJS.Process, 'on'>;
  readonly exit?: (code: number) => void;
}

export function installProcessPolicy(options: ProcessPolicyOptions): void {
  const { logger, rejections, close } = options;
  const target = options.target ?? process;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
  target.on('unhandledRejection', (reason: unknown) => {
    rejections.inc();
    logger.error({ err: reason }, 'unhandled rejection (a bug; serving on)');
  });
  let exiting = false;
  target.on('uncaughtException', (err: Error) => {
    logger.fatal({ err }, 'uncaught exception: closing and exiting for the supervisor to restart');
    if (exiting) return;
    exiting = true;
    const force = setTimeout(() => exit(1), closeTimeoutMs);
    force.unref?.();
    Promise.resolve()
      .then(close)
      .catch(() => undefined)
      .finally(() => {
        clearTimeout(force);
        exit(1);
      });
  });
}
