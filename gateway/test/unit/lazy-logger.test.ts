import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { FastifyBaseLogger } from 'fastify';
import { describe, expect, it } from 'vitest';
import { lazyChildLogger } from '../../src/http/lazy-logger.js';

/** a pino logger writing JSON lines into an array, counting the children made of it */
function capture(level = 'info') {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level, redact: ['req.headers.authorization'] }, stream);
  let children = 0;
  // pino's children inherit from their parent: the counter must keep `this`
  const child = logger.child;
  logger.child = function (this: typeof logger, ...args: Parameters<typeof child>) {
    children++;
    return child.apply(this, args);
  } as typeof logger.child;
  return { logger: logger as unknown as FastifyBaseLogger, lines, children: () => children };
}

describe('lazyChildLogger', () => {
  it('makes no child for a request that writes nothing', () => {
    const c = capture();
    const log = lazyChildLogger(c.logger, { reqId: 'req-1' }, {});
    expect(log.level).toBe('info');
    expect(c.children()).toBe(0);
  });

  it('writes the same line a child would: bindings, message, redaction', () => {
    const c = capture();
    const log = lazyChildLogger(c.logger, { reqId: 'req-2' }, {});
    log.warn({ req: { headers: { authorization: 'Bearer secret' } } }, 'dependency unavailable');
    log.error('and again');
    expect(c.children()).toBe(1);
    expect(c.lines).toHaveLength(2);
    expect(c.lines[0]).toMatchObject({
      level: 40,
      reqId: 'req-2',
      msg: 'dependency unavailable',
      req: { headers: { authorization: '[Redacted]' } },
    });
    expect(c.lines[1]).toMatchObject({ level: 50, reqId: 'req-2', msg: 'and again' });
  });

  it("keeps a route's own level", () => {
    const c = capture();
    const log = lazyChildLogger(c.logger, { reqId: 'req-3' }, { level: 'error' });
    expect(log.level).toBe('error');
    log.info('not written');
    log.error('written');
    expect(c.lines.map((l) => l.msg)).toEqual(['written']);
  });

  it('gives children of its own with both bindings', () => {
    const c = capture();
    lazyChildLogger(c.logger, { reqId: 'req-4' }, {}).child({ component: 'x' }).info('hello');
    expect(c.lines[0]).toMatchObject({ reqId: 'req-4', component: 'x', msg: 'hello' });
  });
});
