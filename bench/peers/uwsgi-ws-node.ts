/**
 * A raw TCP uwsgi node for websocket tunnels: reads the uwsgi packet, answers 101 from
 * HTTP_SEC_WEBSOCKET_KEY (as uwsgi.websocket_handshake does), then holds the connection and
 * echoes small frames unmasked: `node uwsgi-ws-node.ts PORT`.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';

const port = Number(process.argv[2]);
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

createServer((s) => {
  let buf: Buffer | undefined = Buffer.alloc(0);
  s.on('error', () => {});
  s.on('data', (d: Buffer) => {
    if (!buf) {
      // one small client frame per read (payload < 126 bytes), echoed unmasked
      const len = d[1]! & 0x7f;
      const mask = d.subarray(2, 6);
      const payload = Buffer.from(d.subarray(6, 6 + len));
      for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
      s.write(Buffer.concat([Buffer.from([d[0]!, len]), payload]));
      return;
    }
    buf = Buffer.concat([buf, d]);
    if (buf.length < 4 || buf.length < 4 + buf.readUInt16LE(1)) return;
    const end = 4 + buf.readUInt16LE(1);
    let p = 4;
    let key = '';
    while (p < end) {
      const kl = buf.readUInt16LE(p);
      const k = buf.toString('latin1', p + 2, p + 2 + kl);
      p += 2 + kl;
      const vl = buf.readUInt16LE(p);
      const v = buf.toString('latin1', p + 2, p + 2 + vl);
      p += 2 + vl;
      if (k === 'HTTP_SEC_WEBSOCKET_KEY') key = v;
    }
    const accept = createHash('sha1')
      .update(key + GUID)
      .digest('base64');
    s.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    buf = undefined;
  });
}).listen(port, '127.0.0.1');
