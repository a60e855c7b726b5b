import fp from 'fastify-plugin';
import { OrderPublisher } from '../purchase/order-publisher.js';

declare module 'fastify' {
  interface FastifyInstance {
    publisher: OrderPublisher;
  }
}

/** RabbitMQ: the confirm channel purchases publish on. */
export default fp(
  async (app) => {
    const publisher = new OrderPublisher({
      urls: app.config.amqpUrls,
      queue: app.config.ordersQueue,
      confirmTimeoutMs: app.config.publishTimeoutMs,
      logger: app.log,
      onConfirm: (seconds, result) => app.metrics.publishConfirm.observe({ result }, seconds),
    });
    await publisher.start();
    app.decorate('publisher', publisher);
    // closes after in-flight requests finished (onClose runs once the server stopped accepting)
    app.addHook('onClose', async () => {
      await publisher.close();
    });
  },
  { name: 'amqp', dependencies: ['config', 'metrics'] },
);
