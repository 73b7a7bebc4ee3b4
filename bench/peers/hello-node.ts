/**
 * A Node.js `http` hello server (the HTTP node behind the HTTP proxies), run in its own
 * process so it never shares the bench's event loop: `node hello-node.ts PORT`.
 */
import { createServer } from 'node:http';

const port = Number(process.argv[2]);
const body = Buffer.from('Hello World');
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 60000;
server.headersTimeout = 65000;
server.listen(port, '127.0.0.1');
