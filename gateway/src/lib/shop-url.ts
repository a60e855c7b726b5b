/**
 * The one check of a URL that points at the shop (a sale's checkout page, a webhook endpoint):
 * an absolute http(s) URL without credentials, at most 2048 characters. One rule for the
 * API's answers and for the boot's configuration check.
 */
export const MAX_SHOP_URL_LENGTH = 2048;

/** what is wrong with `value` as a shop URL, or undefined when nothing is */
export function shopUrlProblem(value: string): string | undefined {
  if (value.length > MAX_SHOP_URL_LENGTH) return `must be at most ${MAX_SHOP_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http(s) URL';
  if (url.username !== '' || url.password !== '') return 'must not carry credentials';
  return undefined;
}
