/**
 * Issue 12 item 1: the process policy every service installs (gateway and worker): an
 * unhandled rejection is logged and counted and the process serves on; an uncaught exception
 * closes the service, then exits 1, within a bound even when the close hangs.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { installProcessPolicy } from '../../src/process-policy.js';

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
