/**
 * The AMQP heartbeat every Velvet Rope connection asks for: added to the URL unless it names
 * one, keeping credentials, vhost and other parameters as they were.
 */
import { describe, expect, it } from 'vitest';
import { withHeartbeat } from '../../src/amqp-connection.js';

describe('withHeartbeat', () => {
  it('adds the heartbeat to a URL without one', () => {
    expect(withHeartbeat('amqp://guest:guest@127.0.0.1:5672', 10)).toBe('amqp://guest:guest@127.0.0.1:5672?heartbeat=10');
  });
  it('keeps the vhost, the credentials and the other parameters', () => {
    expect(withHeartbeat('amqps://u:p%40ss@mq.example:5671/%2Fshop?frameMax=131072', 5)).toBe(
      'amqps://u:p%40ss@mq.example:5671/%2Fshop?frameMax=131072&heartbeat=5',
    );
  });
  it('leaves a URL that names its heartbeat alone, 0 (off) included', () => {
    for (const url of ['amqp://127.0.0.1?heartbeat=30', 'amqp://127.0.0.1?heartbeat=0']) expect(withHeartbeat(url, 10)).toBe(url);
  });
});
