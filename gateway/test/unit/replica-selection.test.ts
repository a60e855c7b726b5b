import { describe, expect, it } from 'vitest';
import { replicaAtFault, ReplicaSelector } from '../../src/postgres/replica-selection.js';

/** backoff without jitter: 1 s, 2 s, 4 s, ... */
const doubling = (attempt: number) => 1_000 * 2 ** attempt;

describe('ReplicaSelector', () => {
  it('takes turns among idle replicas', () => {
    const s = new ReplicaSelector(3, doubling);
    const picks = [0, 1, 2, 3, 4, 5].map(() => {
      const i = s.pick(0)!;
      s.done(i, 'ok', 0);
      return i;
    });
    expect(picks).toEqual([0, 1, 2, 0, 1, 2]);
  });

  it('sends a read to the least busy replica', () => {
    const s = new ReplicaSelector(3, doubling);
    const a = s.pick(0)!; // 0 busy
    const b = s.pick(0)!; // 1 busy
    s.done(a, 'ok', 0); // 0 idle again, 1 busy, 2 idle
    expect(b).toBe(1);
    const c = s.pick(0)!;
    const d = s.pick(0)!;
    expect(new Set([c, d])).toEqual(new Set([0, 2]));
    // everyone has one in flight now; the next one goes anywhere, never nowhere
    expect(s.pick(0)).toBeDefined();
    expect(s.health().map((h) => h.inFlight)).toEqual(expect.arrayContaining([1, 1, 2]));
  });

  it('leaves a failed replica alone for its backoff, then tries it with one read only', () => {
    const s = new ReplicaSelector(1, doubling);
    const i = s.pick(0)!;
    expect(s.done(i, 'failed', 0)).toBe('down');
    expect(s.health()[0]!.up).toBe(false);
    expect(s.pick(999), 'down for 1 s: read the primary').toBeUndefined();
    const trial = s.pick(1_000);
    expect(trial, 'the backoff passed: one trial read').toBe(0);
    expect(s.pick(1_001), 'while the trial is out, the others read the primary').toBeUndefined();
    expect(s.done(trial!, 'ok', 1_002)).toBe('up');
    expect(s.health()[0]).toEqual({ up: true, inFlight: 0, failures: 0 });
    expect(s.pick(1_003)).toBe(0);
  });

  it('backs off longer with each failed trial, and starts over once the replica answered', () => {
    const s = new ReplicaSelector(1, doubling);
    s.done(s.pick(0)!, 'failed', 0); // down until 1 000
    expect(s.done(s.pick(1_000)!, 'failed', 1_000)).toBe('down'); // until 3 000
    expect(s.pick(2_999)).toBeUndefined();
    s.done(s.pick(3_000)!, 'failed', 3_000); // until 7 000
    expect(s.pick(6_999)).toBeUndefined();
    expect(s.health()[0]!.failures).toBe(3);
    s.done(s.pick(7_000)!, 'ok', 7_000);
    s.done(s.pick(7_001)!, 'failed', 7_001); // first failure again: 1 s
    expect(s.pick(8_001)).toBe(0);
  });

  it('is sent down once by the reads that were in flight when it failed', () => {
    const s = new ReplicaSelector(1, doubling);
    const a = s.pick(0)!;
    const b = s.pick(0)!;
    expect(s.done(a, 'failed', 0)).toBe('down');
    expect(s.done(b, 'failed', 10), 'already down: not down again, nor for longer').toBeUndefined();
    expect(s.health()[0]!.failures).toBe(1);
    expect(s.pick(1_000)).toBe(0);
  });

  it('keeps reading the replicas that are up while one is down', () => {
    const s = new ReplicaSelector(2, doubling);
    expect(s.failed(0, 0)).toBe('down'); // an idle connection dropped
    const picks = [1, 2, 3].map(() => {
      const i = s.pick(10)!;
      s.done(i, 'ok', 10);
      return i;
    });
    expect(picks).toEqual([1, 1, 1]);
    // a replica that is up is preferred to a trial of the one whose backoff passed
    expect(s.pick(5_000)).toBe(1);
  });

  it('has nothing to pick without replicas', () => {
    expect(new ReplicaSelector(0, doubling).pick(0)).toBeUndefined();
  });
});

describe('replicaAtFault', () => {
  it('blames the replica for connection errors, timeouts, shutdowns and recovery conflicts', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5433'), { code: 'ECONNREFUSED' });
    expect(replicaAtFault(refused)).toBe(true);
    expect(replicaAtFault(new Error('Query read timeout'))).toBe(true);
    expect(replicaAtFault(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(replicaAtFault({ code: '57P01' }), 'admin shutdown').toBe(true);
    expect(replicaAtFault({ code: '57P03' }), 'cannot connect now').toBe(true);
    expect(replicaAtFault({ code: '40001' }), 'canceling statement due to conflict with recovery').toBe(true);
    expect(replicaAtFault({ code: '53300' }), 'too many connections').toBe(true);
    expect(replicaAtFault({ code: '3D000' }), 'database missing there').toBe(true);
    expect(replicaAtFault(undefined)).toBe(true);
  });

  it("does not blame it for the query's own fault", () => {
    expect(replicaAtFault({ code: '42601' }), 'syntax error').toBe(false);
    expect(replicaAtFault({ code: '42P01' }), 'undefined table').toBe(false);
    expect(replicaAtFault({ code: '22P02' }), 'invalid text representation').toBe(false);
  });
});
