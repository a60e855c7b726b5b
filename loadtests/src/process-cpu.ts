/**
 * CPU time a process has used, from /proc/<pid>/stat (Linux): user + system, in seconds.
 * What the benchmarks divide by the requests a server answered: its CPU per request, a figure
 * that does not depend on whether the server or the load generator was the bottleneck.
 */
import { readFile } from 'node:fs/promises';

/** clock ticks per second of /proc's times (USER_HZ: 100 on every Linux architecture Node runs on) */
const USER_HZ = 100;

/** utime + stime of a /proc/<pid>/stat line, in seconds; undefined when it is not one */
export function parseProcStat(text: string): number | undefined {
  // the command name (field 2) is in parentheses and may itself hold spaces and parentheses
  const end = text.lastIndexOf(')');
  if (end < 0) return undefined;
  const fields = text
    .slice(end + 2)
    .trim()
    .split(/\s+/);
  // fields after the name start at field 3 (state); utime and stime are fields 14 and 15
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (fields.length < 13 || !Number.isInteger(utime) || !Number.isInteger(stime)) return undefined;
  return (utime + stime) / USER_HZ;
}

/** undefined when the process is gone or /proc is not there */
export async function readProcessCpuSeconds(pid: number): Promise<number | undefined> {
  try {
    return parseProcStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}
