/**
 * Resident memory of a process from /proc/<pid>/status (Linux): VmRSS now, VmHWM the peak.
 */
import { readFile } from 'node:fs/promises';

export interface ProcessMemory {
  readonly rssBytes: number;
  readonly peakRssBytes: number;
}

export function parseProcStatus(text: string): ProcessMemory | undefined {
  const kb = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const rss = kb('VmRSS');
  if (rss === undefined) return undefined;
  return { rssBytes: rss, peakRssBytes: kb('VmHWM') ?? rss };
}

/** undefined when the process is gone or /proc is not there */
export async function readProcessMemory(pid: number): Promise<ProcessMemory | undefined> {
  try {
    return parseProcStatus(await readFile(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return undefined;
  }
}
