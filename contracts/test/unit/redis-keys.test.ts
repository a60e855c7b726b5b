import calculateSlot from 'cluster-key-slot';
import { describe, expect, it } from 'vitest';
import { activeSalesKey, generationKey, isSaleId, saleKeys, type SaleKeys } from '../../src/redis-keys.js';

const KEY_NAMES: readonly (keyof SaleKeys)[] = [
  'config',
  'state',
  'queue',
  'admitted',
  'stock',
  'pending',
  'pendingDue',
  'visitors',
  'seq',
  'leader',
  'leaderEpoch',
  'tickLog',
  'events',
  'returned',
  'report',
  'presence',
  'presenceGone',
  'notice',
  'bypass',
  'reportSnapshot',
  'invites',
];

/** Redis Cluster hashes only the first `{...}` with something inside it. */
function hashTag(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open < 0) return undefined;
  const close = key.indexOf('}', open + 1);
  if (close < 0 || close === open + 1) return undefined;
  return key.slice(open + 1, close);
}

describe('saleKeys', () => {
  it('lists every key this test knows about (a new key must be added here)', () => {
    expect(Object.keys(saleKeys('drop-1')).sort()).toEqual([...KEY_NAMES].sort());
  });

  it.each(['drop-1', 'A_b9', 'x', 'a'.repeat(64)])('puts every key of sale %s under the hash tag {sale:<id>}', (id) => {
    const keys = saleKeys(id);
    for (const name of KEY_NAMES) {
      expect(hashTag(keys[name]), name).toBe(`sale:${id}`);
    }
  });

  it.each(['drop-1', 'A_b9', 'summer-sale_2025'])('maps every key of sale %s to one cluster slot', (id) => {
    const keys = saleKeys(id);
    const expected = calculateSlot(`{sale:${id}}`);
    const slots = new Set(KEY_NAMES.map((name) => calculateSlot(keys[name])));
    expect([...slots]).toEqual([expected]);
  });

  it('cluster-key-slot agrees with Redis on a known slot (sanity check of the tool)', () => {
    // CLUSTER KEYSLOT foo = 12182 (Redis documentation)
    expect(calculateSlot('foo')).toBe(12182);
    expect(calculateSlot('{foo}bar')).toBe(12182);
  });

  it('keeps the hash tag and the slot under a custom key prefix', () => {
    const keys = saleKeys('drop-1', 'test-run.42');
    for (const name of KEY_NAMES) {
      expect(keys[name].startsWith('test-run.42:'), name).toBe(true);
      expect(hashTag(keys[name]), name).toBe('sale:drop-1');
      expect(calculateSlot(keys[name]), name).toBe(calculateSlot('{sale:drop-1}'));
    }
  });

  it.each(['', 'a{b', 'a}b', 'a:b', 'a'.repeat(41)])('throws TypeError for invalid key prefix %j', (prefix) => {
    expect(() => saleKeys('drop-1', prefix)).toThrow(TypeError);
  });

  it('gives two different sales keys that differ, key by key', () => {
    const a = saleKeys('drop-1');
    const b = saleKeys('drop-2');
    for (const name of KEY_NAMES) {
      expect(a[name], name).not.toBe(b[name]);
    }
  });

  it('gives every key of one sale a distinct name', () => {
    const keys = saleKeys('drop-1');
    const values = KEY_NAMES.map((name) => keys[name]);
    expect(new Set(values).size).toBe(values.length);
  });

  it('is deterministic', () => {
    expect(saleKeys('drop-1')).toEqual(saleKeys('drop-1'));
  });

  it.each(['', 'a{b}', 'a:b', 'a b', 'a'.repeat(65), 'ventes-été', '-leading-dash'])('throws TypeError for invalid sale id %j', (id) => {
    expect(() => saleKeys(id)).toThrow(TypeError);
  });
});

describe('activeSalesKey', () => {
  // a Cluster master that restarts empty must lose the set only with the marker, whose loss
  // starts the recovery that refills the set (in a slot of its own the set was lost unseen)
  it.each(['vr', 'test-run.42', 'vrt-abc_1', 'x'.repeat(40)])('is in the generation marker slot under prefix %j', (prefix) => {
    const key = activeSalesKey(prefix);
    expect(key.startsWith(`${prefix}:`)).toBe(true);
    expect(generationKey(prefix)).toBe(`${prefix}:generation`);
    expect(calculateSlot(key)).toBe(calculateSlot(generationKey(prefix)));
    expect(key).not.toBe(generationKey(prefix));
  });

  it.each(['', 'a{b', 'a:b'])('throws TypeError for invalid key prefix %j', (prefix) => {
    expect(() => activeSalesKey(prefix)).toThrow(TypeError);
    expect(() => generationKey(prefix)).toThrow(TypeError);
  });
});

describe('isSaleId', () => {
  it.each(['drop-1', 'A_b9', '0', 'a'.repeat(64)])('accepts %j', (id) => {
    expect(isSaleId(id)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['hash-tag braces', 'a{b}'],
    ['an opening brace', 'a{b'],
    ['a closing brace', 'b}'],
    ['a colon', 'a:b'],
    ['a space', 'a b'],
    ['65 characters', 'a'.repeat(65)],
    ['unicode letters', 'ventes-été'],
    ['an emoji', 'drop-🎉'],
    ['a leading dash', '-drop'],
    ['a leading underscore', '_drop'],
    ['a trailing newline', 'drop\n'],
    ['a glob star', 'drop*'],
  ])('rejects an id with %s', (_label, id) => {
    expect(isSaleId(id)).toBe(false);
  });
});
