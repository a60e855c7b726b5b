/**
 * One error catalogue: every refusal the API gives is an AppError with a stable code whose
 * HTTP status is fixed in the contracts. Expected outcomes inside the domain are values;
 * they become AppErrors only at the HTTP edge.
 */
import { ERROR_CODES, type ErrorBody, type ErrorCode } from '@velvet-rope/contracts';
import { STATUS_CODES } from 'node:http';

export class AppError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** extra fields merged into the body (e.g. the existing orderId) */
    readonly details?: Readonly<Record<string, unknown>>,
    /** seconds, for 429 and 503 */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'AppError';
    this.statusCode = ERROR_CODES[code];
  }
}

export function errorBody(code: ErrorCode, message: string): ErrorBody {
  const statusCode = ERROR_CODES[code];
  return { statusCode, code, error: STATUS_CODES[statusCode] ?? 'Error', message };
}
