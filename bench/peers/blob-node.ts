/**
 * A TCP node for transfer rates: to every connection it writes MIB mebibytes (one reused
 * 1 MiB buffer, with backpressure) and ends it: `node blob-node.ts PORT MIB`.
 */
import { createServer, type Socket } from 'node:net';

const [port, mib] = [Number(process.argv[2]), Number(process.argv[3])];
const chunk = Buffer.alloc(1 << 20, 0x61);

function send(s: Socket, left: number): void {
  while (left > 0) {
    left--;
    if (!s.write(chunk)) {
      s.once('drain', () => send(s, left));
      return;
    }
  }
  s.end();
}

createServer((s) => {
  s.on('error', () => s.destroy());
  send(s, mib);
}).listen({ port, host: '127.0.0.1', backlog: 1024 });
