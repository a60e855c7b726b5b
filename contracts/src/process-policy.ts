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

/**
 * How a service is asked to stop, the same in every service: SIGTERM (a supervisor), SIGINT
 * (Ctrl-C) or, when it runs under `npm start` (scripts/start.mjs) over an IPC channel, that
 * script going away (`disconnect`). The first request stops it gracefully (`stop`, bounded by
 * `timeoutMs`) and exits 0, or 1 if stopping failed or took too long. A `disconnect` while it
 * stops is part of the same stop (the script that asked is exiting too) and changes nothing;
 * a second signal exits at once only with `secondSignalExits` (an operator insisting).
 */
export interface StopRequestOptions {
  readonly logger: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  readonly stop: () => Promise<unknown>;
  /** how long `stop` may take before the process exits 1 anyway (undefined: unbounded) */
  readonly timeoutMs?: number;
  readonly secondSignalExits?: boolean;
  /** logged (with the reason) when the stop begins; logged again when it is done, if given */
  readonly stoppingMessage: string;
  readonly stoppedMessage?: string;
  /** for tests: where the events come from and how the process ends */
  readonly target?: Pick<NodeJS.Process, 'on'> & { readonly channel?: { unref(): void } | undefined };
  readonly exit?: (code: number) => void;
}

export function stopOnRequest(options: StopRequestOptions): void {
  const { logger, stop } = options;
  const target = options.target ?? process;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let stopping = false;
  const request = (reason: string, signal: boolean) => {
    if (stopping) {
      if (signal && options.secondSignalExits) {
        logger.warn({ signal: reason }, 'second signal: exiting now');
        exit(1);
      }
      return;
    }
    stopping = true;
    logger.info({ signal: reason }, options.stoppingMessage);
    const force =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            logger.error({}, 'graceful shutdown took too long; exiting');
            exit(1);
          }, options.timeoutMs);
    force?.unref?.();
    Promise.resolve()
      .then(stop)
      .then(
        () => {
          clearTimeout(force);
          if (options.stoppedMessage) logger.info({}, options.stoppedMessage);
          exit(0);
        },
        (err: unknown) => {
          clearTimeout(force);
          logger.error({ err }, 'stopping failed');
          exit(1);
        },
      );
  };
  target.on('SIGTERM', () => request('SIGTERM', true));
  target.on('SIGINT', () => request('SIGINT', true));
  // the IPC channel must not keep the process alive by itself
  target.channel?.unref();
  target.on('disconnect', () => request('parent exited', false));
}
