/**
 * What the shop has been told: `GET /events` (a page for a newcomer) and `GET /api/events`
 * (JSON for tests: the events in arrival order, each once, with its repeats counted).
 */
import type { FastifyInstance } from 'fastify';
import { eventsPage } from '../pages.js';
import type { WebhookInbox } from '../webhook-inbox.js';

export function eventRoutes(inbox: WebhookInbox) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.get('/events', async (_request, reply) => {
      const f = inbox.figures();
      return reply.type('text/html; charset=utf-8').send(eventsPage(f.events, f.badSignatures));
    });
    app.get('/api/events', async () => inbox.figures());
  };
}
