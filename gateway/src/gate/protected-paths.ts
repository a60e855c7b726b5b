/**
 * The path prefixes a sale gates on the shop's own site (issue 15 item 6, as Cloudflare's
 * Waiting Room does): `protectedPaths: ["/drop", "/checkout"]`. Checked on the way in: each
 * an absolute path of at most 200 characters, without a query, fragment, `..` or `//`, and
 * outside the gateway's own routes (which must keep answering); at most 20 per sale.
 */
export const MAX_PROTECTED_PATHS = 20;

/** where the gateway answers itself: never gated */
const RESERVED = ['/api', '/sales', '/admin', '/docs', '/.well-known', '/healthz', '/readyz', '/socket.io', '/assets', '/metrics'];

export function protectedPathProblem(path: string): string | undefined {
  if (path.length === 0 || path.length > 200) return 'must be 1 to 200 characters';
  if (!path.startsWith('/')) return 'must start with /';
  if (/[?#\s\\]/.test(path) || path.includes('//') || /(^|\/)\.\.?(\/|$)/.test(path)) {
    return 'must be a plain path (no query, fragment, spaces, backslashes, // or dot segments)';
  }
  if (path === '/') return 'cannot be / (the whole site): name the drop’s pages';
  const bare = path.replace(/\/+$/, '');
  const clash = RESERVED.find((r) => bare === r || bare.startsWith(`${r}/`) || r.startsWith(`${bare}/`));
  if (clash) return `cannot overlap the waiting room's own ${clash}`;
  return undefined;
}

/** Whether a request path falls under a prefix: the prefix itself, or below it (segment by segment). */
export function underPrefix(path: string, prefix: string): boolean {
  const p = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return path === p || path.startsWith(`${p}/`);
}
