/**
 * node-http-proxy (`http-proxy`) in front of one HTTP node, with a keep-alive agent to it
 * (as nginx's upstream keepalive): `node http-proxy.ts PORT UPSTREAM_PORT`.
 */
import { Agent, createServer } from 'node:http';
import httpProxy from 'http-proxy';

const [port, upstream] = [Number(process.argv[2]), Number(process.argv[3])];
const proxy = httpProxy.createProxyServer({
  target: `http://127.0.0.1:${upstream}`,
  agent: new Agent({ keepAlive: true, maxSockets: 256 }),
});
proxy.on('error', (_err, _req, res) => {
  if ('writeHead' in res && !res.headersSent) res.writeHead(502);
  res.end();
});
const server = createServer((req, res) => proxy.web(req, res));
server.keepAliveTimeout = 60000;
server.listen(port, '127.0.0.1');
