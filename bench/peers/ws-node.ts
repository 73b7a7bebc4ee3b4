/**
 * A `ws` echo server as an HTTP node (websocket tunnels through an HTTP router):
 * `node ws-node.ts PORT`.
 */
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2]);
const server = createServer((_req, res) => res.end('ws node'));
server.keepAliveTimeout = 600000;
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (ws) => ws.on('message', (d, binary) => ws.send(d, { binary })));
server.listen(port, '127.0.0.1');
