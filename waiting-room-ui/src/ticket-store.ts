/**
 * The queue ticket, kept per sale in localStorage: a refresh and a second tab present the same
 * ticket and so keep the same place. (The gateway's cookies do the same for browsers that
 * block storage; this also works where cookies are blocked.)
 */
const key = (saleId: string) => `velvet-rope:ticket:${saleId}`;

export const ticketStore = {
  get(saleId: string): string | null {
    try {
      return localStorage.getItem(key(saleId));
    } catch {
      return null;
    }
  },
  set(saleId: string, ticket: string): void {
    try {
      localStorage.setItem(key(saleId), ticket);
    } catch {
      // storage disabled: the cookie still carries the place
    }
  },
  forget(saleId: string): void {
    try {
      localStorage.removeItem(key(saleId));
    } catch {
      // nothing kept, nothing to forget
    }
  },
};
