/**
 * How the shop answers a refusal: an HTML page for a person, JSON `{ statusCode, code, error,
 * message }` for `Accept: application/json` (the shape Velvet Rope's own API uses).
 */
import { STATUS_CODES } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { problemPage } from './pages.js';

export function wantsJson(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return accept.includes('application/json') && !accept.includes('text/html');
}

export interface Problem {
  readonly statusCode: number;
  readonly code: string;
  readonly title: string;
  readonly message: string;
  readonly backUrl?: string;
  readonly retryAfterSeconds?: number;
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, p: Problem): FastifyReply {
  reply.code(p.statusCode);
  if (p.retryAfterSeconds !== undefined) reply.header('retry-after', String(p.retryAfterSeconds));
  if (wantsJson(request)) {
    return reply.send({ statusCode: p.statusCode, code: p.code, error: STATUS_CODES[p.statusCode] ?? 'Error', message: p.message });
  }
  return reply.type('text/html; charset=utf-8').send(problemPage(p));
}
