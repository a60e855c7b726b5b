export * from './redis-keys.js';
export * from './order-message.js';
export * from './events.js';
export * from './error-codes.js';
export * from './database.js';
export * from './service-check.js';
export * from './amqp-topology.js';
export * from './env.js';
