/**
 * Polls until `check` answers a value (anything but undefined or false), or fails after
 * `timeoutMs` naming what it waited for: a bound on a wait for an event, never a claim about
 * speed (tests assert promises, not timings).
 */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 60_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
