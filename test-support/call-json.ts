/**
 * One JSON call to a service under test, as the page tests make them: a bearer when given, a
 * JSON body when given, and the answer's status with its parsed body (undefined when empty).
 */
export interface JsonAnswer {
  readonly status: number;
  // the tests read whatever the API answered, field by field

  readonly body: any;
}

export async function callJson(base: string, method: string, path: string, token?: string, body?: unknown): Promise<JsonAnswer> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
