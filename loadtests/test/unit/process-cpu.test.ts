import { describe, expect, it } from 'vitest';
import { parseProcStat, readProcessCpuSeconds } from '../../src/process-cpu.js';

// a real line's shape: pid (comm) state ppid ... utime(14) stime(15) ...
const line = (comm: string, utime: number, stime: number) =>
  `4242 (${comm}) S 1 4242 4242 0 -1 4194560 12345 0 0 0 ${utime} ${stime} 0 0 20 0 11 0 1234 987654321 45678 18446744073709551615\n`;

describe('parseProcStat', () => {
  it('adds user and system time, in seconds', () => {
    expect(parseProcStat(line('node', 1234, 56))).toBeCloseTo(12.9, 10);
  });

  it('reads past a command name with spaces and parentheses', () => {
    expect(parseProcStat(line('node (worker) x', 300, 200))).toBe(5);
  });

  it('refuses what is not a stat line', () => {
    expect(parseProcStat('')).toBeUndefined();
    expect(parseProcStat('4242 (node) S 1 2 3')).toBeUndefined();
    expect(parseProcStat(line('node', 1, 2).replace(' 1 2 0 0 20', ' x y 0 0 20'))).toBeUndefined();
  });
});

describe('readProcessCpuSeconds', () => {
  it("reads this process's own CPU time, which only grows", async () => {
    const before = await readProcessCpuSeconds(process.pid);
    let x = 0;
    for (let i = 0; i < 3e7; i++) x += i % 7;
    const after = await readProcessCpuSeconds(process.pid);
    expect(x).toBeGreaterThan(0);
    expect(before).toBeGreaterThanOrEqual(0);
    expect(after!).toBeGreaterThan(before!);
  });

  it('answers undefined for a process that does not exist', async () => {
    expect(await readProcessCpuSeconds(2 ** 30)).toBeUndefined();
  });
});
