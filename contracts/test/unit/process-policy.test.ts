/**
 * Issue 12 item 1: the process policy every service installs (gateway and worker): an
 * unhandled rejection is logged and counted and the process serves on; an uncaught exception
 * closes the service, then exits 1, within a bound even when the close hangs.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { installProcessPolicy, stopOnRequest } from '../../src/process-policy.js';

function setup(close: () => Promise<unknown>, closeTimeoutMs = 10_000) {
  const target = new EventEmitter();
  const logged: { level: string; msg: string; obj: object }[] = [];
  const logger = {
    error: (obj: object, msg: string) => logged.push({ level: 'error', msg, obj }),
    fatal: (obj: object, msg: string) => logged.push({ level: 'fatal', msg, obj }),
  };
  let counted = 0;
  const exits: number[] = [];
  let exited: (code: number) => void = () => undefined;
  const exit = new Promise<number>((resolve) => (exited = resolve));
  installProcessPolicy({
    logger,
    rejections: { inc: () => counted++ },
    close,
    closeTimeoutMs,
    target: target as unknown as Pick<NodeJS.Process, 'on'>,
    exit: (code) => {
      exits.push(code);
      exited(code);
    },
  });
  return { target, logged, counted: () => counted, exits, exit };
}

describe('issue 12 item 1: the process policy on errors nobody handled', () => {
  it('logs and counts an unhandled rejection, and does not exit', () => {
    const p = setup(async () => undefined);
    const reason = new Error('lost');
    p.target.emit('unhandledRejection', reason, Promise.resolve());
    p.target.emit('unhandledRejection', 'a string', Promise.resolve());
    expect(p.counted()).toBe(2);
    expect(p.logged.map((l) => l.level)).toEqual(['error', 'error']);
    expect(p.logged[0]!.obj).toEqual({ err: reason });
    expect(p.exits).toEqual([]);
  });

  it('closes, then exits 1 on an uncaught exception', async () => {
    let closed = false;
    const p = setup(async () => {
      closed = true;
    });
    p.target.emit('uncaughtException', new Error('boom'));
    expect(await p.exit).toBe(1);
    expect(closed).toBe(true);
    expect(p.logged[0]!.level).toBe('fatal');
  });

  it('exits 1 even when closing fails or never ends', async () => {
    const failing = setup(() => Promise.reject(new Error('cannot close')));
    failing.target.emit('uncaughtException', new Error('boom'));
    expect(await failing.exit).toBe(1);
    const hanging = setup(() => new Promise(() => undefined), 50);
    hanging.target.emit('uncaughtException', new Error('boom'));
    hanging.target.emit('uncaughtException', new Error('again'));
    expect(await hanging.exit).toBe(1);
    expect(hanging.exits).toEqual([1]);
  });
});

describe('stopOnRequest', () => {
  function setUp(opts: { secondSignalExits?: boolean; stop?: () => Promise<unknown>; timeoutMs?: number } = {}) {
    const channel = { unrefs: 0, unref: () => void channel.unrefs++ };
    const target = Object.assign(new EventEmitter(), { channel });
    const exits: number[] = [];
    const lines: string[] = [];
    let stops = 0;
    const log = (obj: object, msg: string) => lines.push(`${msg} ${JSON.stringify(obj)}`);
    let finish!: () => void;
    const stopped = new Promise<void>((r) => (finish = r));
    stopOnRequest({
      logger: { info: log, warn: log, error: log },
      stop:
        opts.stop ??
        (() => {
          stops++;
          return stopped;
        }),
      timeoutMs: opts.timeoutMs,
      secondSignalExits: opts.secondSignalExits,
      stoppingMessage: 'stopping',
      stoppedMessage: 'stopped',
      target: target as unknown as Parameters<typeof stopOnRequest>[0]['target'],
      exit: (code) => exits.push(code),
    });
    return { target, exits, lines, stops: () => stops, finish };
  }
  const tick = () => new Promise((r) => setTimeout(r, 0));

  it('stops once on SIGTERM and exits 0; the IPC channel does not hold the process', async () => {
    const s = setUp();
    expect(s.target.channel.unrefs).toBe(1);
    s.target.emit('SIGTERM');
    await tick();
    expect(s.stops()).toBe(1);
    s.finish();
    await tick();
    expect(s.exits).toEqual([0]);
    expect(s.lines).toEqual(['stopping {"signal":"SIGTERM"}', 'stopped {}']);
  });

  it('takes the parent going away during a stop as part of that stop, even where a second signal exits', async () => {
    const s = setUp({ secondSignalExits: true });
    s.target.emit('SIGINT');
    s.target.emit('disconnect');
    await tick();
    expect(s.exits).toEqual([]);
    expect(s.stops()).toBe(1);
    s.finish();
    await tick();
    expect(s.exits).toEqual([0]);
  });

  it('exits 1 at once on a second signal only when asked to', async () => {
    const insist = setUp({ secondSignalExits: true });
    insist.target.emit('SIGTERM');
    insist.target.emit('SIGTERM');
    expect(insist.exits).toEqual([1]);
    const calm = setUp();
    calm.target.emit('SIGTERM');
    calm.target.emit('SIGINT');
    await tick();
    expect(calm.exits).toEqual([]);
    expect(calm.stops()).toBe(1);
  });

  it('exits 1 when stopping fails or takes longer than its bound', async () => {
    const failing = setUp({ stop: () => Promise.reject(new Error('pool')) });
    failing.target.emit('disconnect');
    await tick();
    expect(failing.exits).toEqual([1]);
    const slow = setUp({ stop: () => new Promise(() => undefined), timeoutMs: 5 });
    slow.target.emit('SIGTERM');
    await new Promise((r) => setTimeout(r, 30));
    expect(slow.exits).toEqual([1]);
  });
});
