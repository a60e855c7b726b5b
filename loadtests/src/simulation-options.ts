/**
 * The simulator's knobs, their defaults, and the command line that sets them. Every run is
 * bounded: in shoppers, in requests in flight, and in time (`maxSeconds`).
 */
import { parseArgs } from 'node:util';
import type { ArrivalProfile } from './arrivals.js';
import type { QueueMode } from './promises.js';

export interface SimulationOptions {
  /** honest shoppers */
  readonly shoppers: number;
  readonly stock: number;
  /** admission rate, shoppers per minute */
  readonly ratePerMinute: number;
  /** fraction that walks away (half while waiting, half once admitted) */
  readonly abandon: number;
  /** fraction of buyers that send the purchase twice */
  readonly retry: number;
  /** fraction that polls twice as often as advised and re-joins once with the ticket */
  readonly impatient: number;
  readonly bots: number;
  /** joins each bot fires back to back (half the bots at the pre-queue, half at the start) */
  readonly botJoins: number;
  readonly mode: QueueMode;
  readonly windowSeconds: number;
  /** shoppers that also listen over socket.io */
  readonly socketSample: number;
  /** fraction that closes the page (its socket) at their turn and never buys (each has a socket, beyond the sample) */
  readonly closeAtTurn: number;
  /** the spawned gateway's ABANDON_GRACE_SECONDS (undefined: the gateway's default; 0: turns are never freed early) */
  readonly abandonGraceSeconds: number | undefined;
  /** shoppers that join before the start (default: 60 % of the stock, so the windows after the start get units too) */
  readonly prequeue: number;
  /** the sale starts this long after it was made; the pre-queue joins in that time (default: 5 s + 1 s per 400 shoppers) */
  readonly prequeueSeconds: number;
  /** the others arrive over this many seconds after the start */
  readonly arrivalSeconds: number;
  readonly arrivalProfile: ArrivalProfile;
  readonly checkoutSeconds: number;
  /** cap on the wait between two polls, whatever the server advises */
  readonly maxPollMs: number;
  /** a buyer spends up to this long on the checkout page */
  readonly thinkMs: number;
  /** requests in flight at most */
  readonly concurrency: number;
  /** keep-alive connections to the gateway */
  readonly connections: number;
  /** the whole run, hard bound */
  readonly maxSeconds: number;
  /** where report.json and report.html go; undefined: no files */
  readonly out: string | undefined;
  readonly seed: number;
  /** admission tick of the gateway the simulator starts */
  readonly tickMs: number;
  /** the spawned gateway's RATE_LIMIT_PER_IP (0: off, this tool's default; the gateway's is 300); shoppers and bots each have their own address */
  readonly perIpLimit: number;
  /** the spawned gateway's OVERSUBSCRIPTION (admitted shoppers per remaining unit) */
  readonly oversubscription: number;
  /** I6: the gateway's peak RSS must stay below this */
  readonly rssLimitMb: number;
  /** progress on stderr: 'auto' (a line every few seconds when stderr is not a terminal) */
  readonly progress: boolean | 'auto';
  readonly saleId: string | undefined;
  /** also write shoppers.ndjson (one line per shopper: behaviour, score, admission, end) into `out` */
  readonly dumpShoppers: boolean;
  /** an already running gateway; then adminKey and databaseUrl are needed */
  readonly baseUrl: string | undefined;
  readonly adminKey: string | undefined;
  readonly databaseUrl: string | undefined;
  readonly redisUrl: string | undefined;
  /** the sale's `shards`: its queue over this many sub-queues, on a Redis Cluster (1: one hash tag) */
  readonly shards: number;
  /**
   * a Redis Cluster's seed nodes (`host:port,...`) for the spawned services, or the running
   * gateway's REDIS_CLUSTER_NODES; unset with shards > 1 on a spawned stack: the simulator
   * starts a private three-master cluster of its own on spare ports, and stops it after
   */
  readonly redisClusterNodes: string | undefined;
  /** the running gateway's REDIS_KEY_PREFIX, for the Redis memory figures */
  readonly redisKeyPrefix: string | undefined;
  /** the running gateway's pid, for its RSS */
  readonly gatewayPid: number | undefined;
}

export const DEFAULTS: Omit<SimulationOptions, 'prequeue' | 'prequeueSeconds'> & {
  prequeue: number | undefined;
  prequeueSeconds: number | undefined;
} = {
  shoppers: 100_000,
  stock: 10_000,
  ratePerMinute: 6_000,
  abandon: 0.1,
  retry: 0.2,
  impatient: 0.1,
  bots: 20,
  botJoins: 25,
  mode: 'prequeue-random',
  windowSeconds: 5,
  socketSample: 200,
  closeAtTurn: 0,
  abandonGraceSeconds: undefined,
  prequeue: undefined,
  prequeueSeconds: undefined,
  arrivalSeconds: 30,
  arrivalProfile: 'spike',
  checkoutSeconds: 10,
  maxPollMs: 30_000,
  thinkMs: 500,
  concurrency: 256,
  connections: 128,
  maxSeconds: 900,
  out: undefined,
  seed: 20_240_601,
  tickMs: 100,
  perIpLimit: 0,
  oversubscription: 1,
  rssLimitMb: 512,
  progress: 'auto',
  saleId: undefined,
  dumpShoppers: false,
  baseUrl: undefined,
  adminKey: undefined,
  databaseUrl: undefined,
  redisUrl: undefined,
  shards: 1,
  redisClusterNodes: undefined,
  redisKeyPrefix: undefined,
  gatewayPid: undefined,
};

export class OptionError extends Error {}

const fraction = (name: string, v: number) => {
  if (!(v >= 0 && v <= 1)) throw new OptionError(`--${name} must be a fraction from 0 to 1, got ${v}`);
};
const whole = (name: string, v: number, min = 0, max = 10_000_000) => {
  if (!Number.isInteger(v) || v < min || v > max) throw new OptionError(`--${name} must be a whole number from ${min} to ${max}, got ${v}`);
};

/** Defaults filled in and every value checked; throws OptionError naming the bad one. */
export function resolveOptions(input: Partial<SimulationOptions> = {}): SimulationOptions {
  const defined = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  const o = { ...DEFAULTS, ...defined } as typeof DEFAULTS;
  whole('shoppers', o.shoppers, 1, 5_000_000);
  whole('stock', o.stock, 1, 100_000_000);
  whole('rate', o.ratePerMinute, 1, 10_000_000);
  fraction('abandon', o.abandon);
  fraction('retry', o.retry);
  fraction('impatient', o.impatient);
  whole('bots', o.bots, 0, 1000);
  whole('bot-joins', o.botJoins, 0, 100_000);
  if (!['prequeue-random', 'fifo', 'random'].includes(o.mode))
    throw new OptionError(`--mode must be prequeue-random, fifo or random, got ${o.mode}`);
  whole('window', o.windowSeconds, 0, 86_400);
  whole('socket-sample', o.socketSample, 0, 10_000);
  fraction('close-at-turn', o.closeAtTurn);
  if (o.abandonGraceSeconds !== undefined) whole('abandon-grace', o.abandonGraceSeconds, 0, 3_600);
  const prequeue = o.prequeue ?? Math.min(o.shoppers, Math.round(o.stock * 0.6));
  whole('prequeue', prequeue, 0, o.shoppers);
  const prequeueSeconds = o.prequeueSeconds ?? 5 + Math.ceil(prequeue / 400);
  if (!(prequeueSeconds >= 1 && prequeueSeconds <= 3600)) throw new OptionError('--prequeue-seconds must be from 1 to 3600');
  if (!(o.arrivalSeconds >= 0 && o.arrivalSeconds <= 3600)) throw new OptionError('--arrival-seconds must be from 0 to 3600');
  if (o.arrivalProfile !== 'spike' && o.arrivalProfile !== 'flat') throw new OptionError('--arrival-profile must be spike or flat');
  whole('checkout', o.checkoutSeconds, 1, 3600);
  // up to the gateway's own ceiling on its advice (ten minutes): a run may follow the advice
  // as the waiting-room page does
  whole('max-poll-ms', o.maxPollMs, 100, 600_000);
  whole('think-ms', o.thinkMs, 0, 60_000);
  whole('concurrency', o.concurrency, 1, 10_000);
  whole('connections', o.connections, 1, 10_000);
  whole('max-seconds', o.maxSeconds, 5, 24 * 3600);
  whole('tick-ms', o.tickMs, 20, 10_000);
  whole('per-ip-limit', o.perIpLimit, 0, 100_000_000);
  if (!(o.oversubscription >= 1 && o.oversubscription <= 10)) throw new OptionError('--oversubscription must be from 1 to 10');
  whole('rss-limit-mb', o.rssLimitMb, 16, 1_000_000);
  // the gateway's own bounds on a sale's shards
  whole('shards', o.shards, 1, 16);
  if (o.shards > 1 && o.mode === 'fifo')
    throw new OptionError('--shards above 1 needs --mode prequeue-random or random (strict FIFO is one counter)');
  if (o.shards > 1 && o.windowSeconds === 0) throw new OptionError('--shards above 1 needs --window above 0');
  if (o.redisClusterNodes !== undefined && !/^[^,:\s]+:\d+(,[^,:\s]+:\d+)*$/.test(o.redisClusterNodes)) {
    throw new OptionError(`--redis-cluster-nodes must be host:port,host:port,..., got ${JSON.stringify(o.redisClusterNodes)}`);
  }
  if (o.baseUrl !== undefined && o.shards > 1 && o.redisClusterNodes === undefined) {
    throw new OptionError("--shards above 1 with --base-url needs --redis-cluster-nodes (the running gateway's cluster)");
  }
  if (o.baseUrl !== undefined) {
    const u = new URL(o.baseUrl);
    if (u.hostname !== '127.0.0.1' && u.hostname !== 'localhost' && u.hostname !== '[::1]') {
      throw new OptionError(`--base-url must be a local address (127.0.0.1): load is never sent elsewhere, got ${u.hostname}`);
    }
    if (!o.adminKey) throw new OptionError('--admin-key is needed with --base-url');
    if (!o.databaseUrl) throw new OptionError('--database-url is needed with --base-url');
  }
  return { ...o, prequeue, prequeueSeconds };
}

export const USAGE = `usage: node loadtests/dist/simulate.js [options]

  --shoppers N          honest shoppers (${DEFAULTS.shoppers})
  --stock N             units for sale (${DEFAULTS.stock})
  --rate N              admission rate, shoppers per minute (${DEFAULTS.ratePerMinute})
  --abandon F           fraction walking away, half while waiting, half once admitted (${DEFAULTS.abandon})
  --retry F             fraction of buyers sending the purchase twice (${DEFAULTS.retry})
  --impatient F         fraction polling too often and re-joining with their ticket (${DEFAULTS.impatient})
  --bots N              bots hammering join without cookies or ticket (${DEFAULTS.bots})
  --bot-joins N         joins per bot (${DEFAULTS.botJoins})
  --mode M              prequeue-random | fifo | random (${DEFAULTS.mode})
  --window S            fairness window after the start, seconds (${DEFAULTS.windowSeconds})
  --socket-sample N     shoppers also listening over socket.io (${DEFAULTS.socketSample})
  --close-at-turn F     fraction closing the page (socket) at their turn, never buying (${DEFAULTS.closeAtTurn})
  --abandon-grace S     spawned gateway: ABANDON_GRACE_SECONDS, turns of closed pages freed after S (gateway default; 0: off)
  --prequeue N          shoppers joining before the start (60 % of the stock)
  --prequeue-seconds S  the sale starts S seconds after it is made (5 + 1 per 400 pre-queue shoppers)
  --arrival-seconds S   the others arrive over S seconds after the start (${DEFAULTS.arrivalSeconds})
  --arrival-profile P   spike | flat (${DEFAULTS.arrivalProfile})
  --checkout S          checkout window, seconds (${DEFAULTS.checkoutSeconds})
  --max-poll-ms MS      cap on the advised wait between polls, at most 600000 (${DEFAULTS.maxPollMs})
  --think-ms MS         a buyer spends up to MS on the checkout page (${DEFAULTS.thinkMs})
  --concurrency N       requests in flight at most (${DEFAULTS.concurrency})
  --connections N       keep-alive connections (${DEFAULTS.connections})
  --max-seconds S       hard bound on the whole run (${DEFAULTS.maxSeconds})
  --seed N              behaviour seed (${DEFAULTS.seed})
  --tick-ms MS          admission tick of the spawned gateway (${DEFAULTS.tickMs})
  --per-ip-limit N      spawned gateway: joins per minute per address without identity (0: off)
  --oversubscription F  spawned gateway: admitted shoppers per remaining unit (${DEFAULTS.oversubscription})
  --rss-limit-mb N      I6: bound on the gateway's peak RSS (${DEFAULTS.rssLimitMb})
  --out DIR             write report.json and report.html there (default loadtests/reports/<timestamp>)
  --no-progress         no progress line on stderr
  --dump-shoppers       also write shoppers.ndjson (every shopper's record) next to the report
  --base-url URL        an already running gateway (127.0.0.1 only); then also:
  --admin-key KEY       its ADMIN_API_KEY
  --database-url URL    its DATABASE_URL (to check the promises)
  --redis-url URL       its REDIS_URL (default redis://127.0.0.1:6379)
  --redis-cluster-nodes H:P,...  a Redis Cluster's seed nodes, for the spawned services (or the running
                        gateway's REDIS_CLUSTER_NODES)
  --shards K            the sale's queue over K sub-queues on a Redis Cluster (${DEFAULTS.shards}); without
                        --redis-cluster-nodes the simulator starts a private three-master cluster
  --redis-key-prefix P  its REDIS_KEY_PREFIX (for Redis memory per shopper)
  --gateway-pid PID     its pid (for its RSS)
  --sale-id ID          the sale's id (default: a new unique one)
`;

/** The command line, as options (unset ones left undefined for resolveOptions). */
export function parseCommandLine(argv: readonly string[]): Partial<SimulationOptions> & { help?: boolean } {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      shoppers: { type: 'string' },
      stock: { type: 'string' },
      rate: { type: 'string' },
      abandon: { type: 'string' },
      retry: { type: 'string' },
      impatient: { type: 'string' },
      bots: { type: 'string' },
      'bot-joins': { type: 'string' },
      mode: { type: 'string' },
      window: { type: 'string' },
      'socket-sample': { type: 'string' },
      'close-at-turn': { type: 'string' },
      'abandon-grace': { type: 'string' },
      prequeue: { type: 'string' },
      'prequeue-seconds': { type: 'string' },
      'arrival-seconds': { type: 'string' },
      'arrival-profile': { type: 'string' },
      checkout: { type: 'string' },
      'max-poll-ms': { type: 'string' },
      'think-ms': { type: 'string' },
      concurrency: { type: 'string' },
      connections: { type: 'string' },
      'max-seconds': { type: 'string' },
      seed: { type: 'string' },
      'tick-ms': { type: 'string' },
      'rss-limit-mb': { type: 'string' },
      'per-ip-limit': { type: 'string' },
      oversubscription: { type: 'string' },
      out: { type: 'string' },
      'no-progress': { type: 'boolean' },
      'dump-shoppers': { type: 'boolean' },
      'base-url': { type: 'string' },
      'admin-key': { type: 'string' },
      'database-url': { type: 'string' },
      'redis-url': { type: 'string' },
      'redis-key-prefix': { type: 'string' },
      'redis-cluster-nodes': { type: 'string' },
      shards: { type: 'string' },
      'gateway-pid': { type: 'string' },
      'sale-id': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const num = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v.replace(/_/g, ''));
    if (v.trim() === '' || !Number.isFinite(n)) throw new OptionError(`--${name} must be a number, got ${JSON.stringify(v)}`);
    return n;
  };
  return {
    shoppers: num('shoppers', values.shoppers),
    stock: num('stock', values.stock),
    ratePerMinute: num('rate', values.rate),
    abandon: num('abandon', values.abandon),
    retry: num('retry', values.retry),
    impatient: num('impatient', values.impatient),
    bots: num('bots', values.bots),
    botJoins: num('bot-joins', values['bot-joins']),
    mode: values.mode as QueueMode | undefined,
    windowSeconds: num('window', values.window),
    socketSample: num('socket-sample', values['socket-sample']),
    closeAtTurn: num('close-at-turn', values['close-at-turn']),
    abandonGraceSeconds: num('abandon-grace', values['abandon-grace']),
    prequeue: num('prequeue', values.prequeue),
    prequeueSeconds: num('prequeue-seconds', values['prequeue-seconds']),
    arrivalSeconds: num('arrival-seconds', values['arrival-seconds']),
    arrivalProfile: values['arrival-profile'] as ArrivalProfile | undefined,
    checkoutSeconds: num('checkout', values.checkout),
    maxPollMs: num('max-poll-ms', values['max-poll-ms']),
    thinkMs: num('think-ms', values['think-ms']),
    concurrency: num('concurrency', values.concurrency),
    connections: num('connections', values.connections),
    maxSeconds: num('max-seconds', values['max-seconds']),
    seed: num('seed', values.seed),
    tickMs: num('tick-ms', values['tick-ms']),
    rssLimitMb: num('rss-limit-mb', values['rss-limit-mb']),
    perIpLimit: num('per-ip-limit', values['per-ip-limit']),
    oversubscription: num('oversubscription', values.oversubscription),
    out: values.out,
    progress: values['no-progress'] ? false : undefined,
    dumpShoppers: values['dump-shoppers'],
    baseUrl: values['base-url'],
    adminKey: values['admin-key'],
    databaseUrl: values['database-url'],
    redisUrl: values['redis-url'],
    redisKeyPrefix: values['redis-key-prefix'],
    redisClusterNodes: values['redis-cluster-nodes'],
    shards: num('shards', values.shards),
    gatewayPid: num('gateway-pid', values['gateway-pid']),
    saleId: values['sale-id'],
    help: values.help,
  } as Partial<SimulationOptions> & { help?: boolean };
}
