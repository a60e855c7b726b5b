/**
 * The queue ticket, per sale, in this page's memory only. It is not kept where any script on
 * the page could read it (localStorage was, issue 12 item 10): a refresh or a second tab joins
 * again, and the gateway's HttpOnly cookies (the ticket and the sealed visitor id) answer with
 * the same place (`200`).
 */
const tickets = new Map<string, string>();
const LEGACY_PREFIX = 'velvet-rope:ticket:';

/** tickets an earlier version of the page left in localStorage: removed once, on load */
function forgetPersistedTickets(): void {
  try {
    for (let i = localStorage.length - 1; i >= 0; i--) {
      const k = localStorage.key(i);
      if (k?.startsWith(LEGACY_PREFIX)) localStorage.removeItem(k);
    }
  } catch {
    // storage disabled: nothing was kept
  }
}
forgetPersistedTickets();

export const ticketStore = {
  get(saleId: string): string | null {
    return tickets.get(saleId) ?? null;
  },
  set(saleId: string, ticket: string): void {
    tickets.set(saleId, ticket);
  },
  forget(saleId: string): void {
    tickets.delete(saleId);
  },
};
