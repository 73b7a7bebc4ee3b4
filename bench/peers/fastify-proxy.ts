/**
 * `@fastify/http-proxy` (Fastify 5; its default client is an undici pool, keep-alive to the
 * node) in front of one HTTP node: `node fastify-proxy.ts PORT UPSTREAM_PORT`.
 */
import proxy from '@fastify/http-proxy';
import Fastify from 'fastify';

const [port, upstream] = [Number(process.argv[2]), Number(process.argv[3])];
const app = Fastify({ logger: false, keepAliveTimeout: 60000 });
await app.register(proxy, { upstream: `http://127.0.0.1:${upstream}` });
await app.listen({ port, host: '127.0.0.1' });
