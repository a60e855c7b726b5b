/** How times read on the pages (in the page's language when one is given; the console's otherwise). */

const pad = (n: number) => String(n).padStart(2, '0');

/** a countdown: "2 d 03:04:05" (the day unit in the language), "3:04:05", "4:05" */
export function countdown(ms: number, locale?: string): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const d = Math.floor(total / 86_400);
  const h = Math.floor((total % 86_400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (d > 0) {
    const days = new Intl.NumberFormat(locale ?? 'en', { style: 'unit', unit: 'day', unitDisplay: 'narrow' }).format(d);
    return `${days} ${pad(h)}:${pad(m)}:${pad(s)}`;
  }
  if (h > 0) return `${h}:${pad(m)}:${pad(s)}`;
  return `${m}:${pad(s)}`;
}

/** the same, spoken: "2 minutes 5 seconds", "2 Minuten 5 Sekunden" (screen readers, labels) */
export function spokenDuration(ms: number, locale = 'en'): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const parts: string[] = [];
  const units = [
    [86_400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
    [1, 'second'],
  ] as const;
  const say = (n: number, unit: string) => new Intl.NumberFormat(locale, { style: 'unit', unit, unitDisplay: 'long' }).format(n);
  let rest = total;
  for (const [size, name] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 && parts.length < 2) parts.push(say(n, name));
  }
  return parts.length ? parts.join(' ') : say(0, 'second');
}

/** a moment in the shopper's own time zone: "Tue 14:00" (today: "14:00") */
export function localTime(epochMs: number, locale?: string): string {
  const d = new Date(epochMs);
  const sameDay = d.toDateString() === new Date().toDateString();
  return d.toLocaleString(
    locale,
    sameDay
      ? { hour: '2-digit', minute: '2-digit' }
      : { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' },
  );
}

/** "1,234" */
export const count = (n: number) => n.toLocaleString();
