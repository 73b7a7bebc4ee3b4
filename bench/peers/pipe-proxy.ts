/**
 * The least a Node.js hop can be: `net` sockets piped both ways (no parsing, no timers).
 * The floor for a Node relay's memory per tunnel: `node pipe-proxy.ts PORT TARGET_PORT`.
 */
import { connect, createServer } from 'node:net';

const [port, target] = [Number(process.argv[2]), Number(process.argv[3])];
createServer((c) => {
  const u = connect(target, '127.0.0.1');
  c.pipe(u);
  u.pipe(c);
  c.on('error', () => u.destroy());
  u.on('error', () => c.destroy());
  c.on('close', () => u.destroy());
  u.on('close', () => c.destroy());
}).listen({ port, host: '127.0.0.1', backlog: 1024 });
