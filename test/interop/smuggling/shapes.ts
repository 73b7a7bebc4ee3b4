/**
 * The attacker's requests of the smuggling suite and what the router must make of them:
 * `node` = the URLs the node may see from the attacker (exactly the requests the router
 * routed), `statuses` = what the attacker gets back, in order. Sources: Watchfire 2005,
 * PortSwigger's "HTTP Desync Attacks" (CL.TE, TE.CL, TE.TE obfuscations), RFC 9112 §6–7,
 * and the `Connection: content-length` report of our own issue.
 */
import type { Recorded } from './recording-node.ts';
import type { Conversation } from './responses.ts';

export interface Shape {
  name: string;
  parts: string[];
  pauseMs?: number;
  node: string[];
  statuses: number[];
  /** the node's answer to the attacker is refused by the router (502): no client gets it */
  answerRefused?: boolean;
  /** extra check on the node's view (null = fine, else what is wrong) */
  check?: (seen: Recorded[], attacker: Conversation) => string | null;
}

/** a request prefix that swallows the next request on the node connection (the poison) */
const PREFIX = 'GET /smuggled HTTP/1.1\r\nHost: a\r\nX-Req-Id: smuggled\r\nX-Ignore: ';
/** a whole request hidden in a body */
const WHOLE = 'GET /smuggled HTTP/1.1\r\nHost: a\r\nX-Req-Id: smuggled\r\n\r\n';
const hex = (s: string): string => s.length.toString(16);
const WS =
  'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';

function post(head: string, body: string): string {
  return `POST /atk HTTP/1.1\r\nHost: a\r\nX-Req-Id: atk-1\r\n${head}\r\n${body}`;
}

function bodyIs(expected: string): (seen: Recorded[]) => string | null {
  return (seen) => {
    const got = seen[0]?.body.toString('latin1');
    return got === expected ? null : `node got body ${JSON.stringify(got)}, sent ${JSON.stringify(expected)}`;
  };
}

const chunkedPrefix = `${hex(PREFIX)}\r\n${PREFIX}\r\n0\r\n\r\n`;

export const SHAPES: Shape[] = [
  // ---- Connection lists naming framing fields (the reproduction) ----------------
  {
    name: 'Connection: content-length, body = a request prefix',
    parts: [post(`Connection: content-length\r\nContent-Length: ${PREFIX.length}\r\n`, PREFIX)],
    node: ['/atk'],
    statuses: [200],
    check: bodyIs(PREFIX),
  },
  {
    name: 'Connection: Content-Length (case), body = a whole request',
    parts: [post(`Connection: Content-Length\r\nContent-Length: ${WHOLE.length}\r\n`, WHOLE)],
    node: ['/atk'],
    statuses: [200],
    check: bodyIs(WHOLE),
  },
  {
    name: 'Connection: close, content-length',
    parts: [post(`Connection: close, content-length\r\nContent-Length: ${PREFIX.length}\r\n`, PREFIX)],
    node: ['/atk'],
    statuses: [200],
    check: bodyIs(PREFIX),
  },
  {
    name: 'Connection: transfer-encoding, chunked body = a request prefix',
    parts: [post('Connection: transfer-encoding\r\nTransfer-Encoding: chunked\r\n', chunkedPrefix)],
    node: ['/atk'],
    statuses: [200],
    check: bodyIs(PREFIX),
  },
  {
    name: 'Connection: keep-alive, Transfer-Encoding (second token)',
    parts: [
      post('Connection: keep-alive, Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n', chunkedPrefix),
    ],
    node: ['/atk'],
    statuses: [200],
    check: bodyIs(PREFIX),
  },
  {
    name: 'Connection: host keeps Host',
    parts: ['GET /atk HTTP/1.1\r\nHost: kept.example\r\nX-Req-Id: atk-1\r\nConnection: host\r\n\r\n'],
    node: ['/atk'],
    statuses: [200],
    check: (seen) =>
      seen[0]?.headers.host === 'kept.example' ? null : `Host became ${seen[0]?.headers.host}`,
  },
  // ---- CL.TE / TE.CL ----------------------------------------------------------------------
  {
    name: 'CL.TE: Content-Length and Transfer-Encoding',
    parts: [
      post(`Content-Length: ${5 + PREFIX.length}\r\nTransfer-Encoding: chunked\r\n`, `0\r\n\r\n${PREFIX}`),
    ],
    node: [],
    statuses: [400],
  },
  {
    name: 'TE.CL: Transfer-Encoding then Content-Length',
    parts: [post('Transfer-Encoding: chunked\r\nContent-Length: 4\r\n', `${chunkedPrefix}`)],
    node: [],
    statuses: [400],
  },
  // ---- TE.TE obfuscations -------------------------------------------------------------------
  {
    name: 'TE: xchunked',
    parts: [post('Transfer-Encoding: xchunked\r\n', chunkedPrefix)],
    node: [],
    statuses: [400],
  },
  {
    name: 'TE: space before the colon',
    parts: [post('Transfer-Encoding : chunked\r\n', chunkedPrefix)],
    node: [],
    statuses: [400],
  },
  {
    name: 'TE: chunked + a second TE line x',
    parts: [post('Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n', chunkedPrefix)],
    node: [],
    statuses: [400],
  },
  {
    name: 'TE: chunked, chunked',
    parts: [post('Transfer-Encoding: chunked, chunked\r\n', chunkedPrefix)],
    node: [],
    statuses: [400],
  },
  {
    name: 'TE: identity, chunked',
    parts: [post('Transfer-Encoding: identity, chunked\r\n', chunkedPrefix)],
    node: [],
    statuses: [501],
  },
  {
    name: 'TE: "chunked" quoted',
    parts: [post('Transfer-Encoding: "chunked"\r\n', chunkedPrefix)],
    node: [],
    statuses: [400],
  },
  {
    name: 'TE: obs-fold',
    parts: [post('Transfer-Encoding:\r\n chunked\r\n', chunkedPrefix)],
    node: [],
    statuses: [400],
  },
  {
    name: 'TE: bare LF before it',
    parts: [post('X: y\nTransfer-Encoding: chunked\r\n', chunkedPrefix)],
    node: [],
    statuses: [400],
  },
  {
    name: 'TE: tab before the value, mixed case (valid)',
    parts: [post('Transfer-Encoding:\tcHuNkEd\r\n', chunkedPrefix)],
    node: ['/atk'],
    statuses: [200],
    check: bodyIs(PREFIX),
  },
  // ---- chunk framing quirks: the node must get canonical chunks --------------------------
  {
    name: 'chunk size followed by a space',
    parts: [post('Transfer-Encoding: chunked\r\n', '5 \r\nhello\r\n0\r\n\r\n')],
    node: ['/atk'],
    statuses: [200],
    check: bodyIs('hello'),
  },
  {
    name: 'chunk extension with a quoted string and an empty one',
    parts: [post('Transfer-Encoding: chunked\r\n', '5;a="b c"\r\nhello\r\n1;\r\n!\r\n0\r\n\r\n')],
    node: ['/atk'],
    statuses: [200],
    check: bodyIs('hello!'),
  },
  {
    name: 'trailer section with Content-Length',
    parts: [post('Transfer-Encoding: chunked\r\n', '5\r\nhello\r\n0\r\nContent-Length: 99\r\n\r\n')],
    node: ['/atk'],
    statuses: [200],
    check: bodyIs('hello'),
  },
  {
    name: 'chunk size 0x5',
    parts: [post('Transfer-Encoding: chunked\r\n', '0x5\r\nhello\r\n0\r\n\r\n')],
    node: [],
    statuses: [400],
  },
  {
    name: 'chunk size overflowing 64 bits',
    parts: [post('Transfer-Encoding: chunked\r\n', '10000000000000005\r\nhello\r\n0\r\n\r\n')],
    node: [],
    statuses: [400],
  },
  {
    name: 'chunk data longer than its size',
    parts: [post('Transfer-Encoding: chunked\r\n', `3\r\nabc${WHOLE}\r\n0\r\n\r\n`)],
    node: [],
    statuses: [400],
  },
  {
    name: 'bare LF chunk lines',
    parts: [post('Transfer-Encoding: chunked\r\n', '5\nhello\n0\n\n')],
    node: [],
    statuses: [400],
  },
  // ---- Content-Length quirks ----------------------------------------------------------------
  {
    name: 'Content-Length: +5',
    parts: [post('Content-Length: +5\r\n', 'hello')],
    node: [],
    statuses: [400],
  },
  {
    name: 'Content-Length: 5, 6',
    parts: [post('Content-Length: 5, 6\r\n', 'hello!')],
    node: [],
    statuses: [400],
  },
  {
    name: 'two differing Content-Length lines',
    parts: [post('Content-Length: 5\r\nContent-Length: 50\r\n', 'hello')],
    node: [],
    statuses: [400],
  },
  {
    name: 'Content-Length: 005 with a whole request after the body (pipelined)',
    parts: [post('Content-Length: 005\r\n', `hello${WHOLE.replace('smuggled\r\n', 'atk-2\r\n')}`)],
    node: ['/atk', '/smuggled'],
    statuses: [200, 200],
    check: (seen) =>
      seen[1]?.headers['x-forwarded-for'] === '127.0.0.1'
        ? null
        : 'the pipelined request was not routed by the router',
  },
  // ---- upgrades ------------------------------------------------------------------------------
  {
    name: 'websocket upgrade refused (403), a request in the same packet is the next request',
    parts: [
      `GET /ws-refuse HTTP/1.1\r\nHost: a\r\nX-Req-Id: atk-1\r\n${WS}\r\nGET /atk-next HTTP/1.1\r\nHost: a\r\nX-Req-Id: atk-2\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n`,
    ],
    node: ['/ws-refuse', '/atk-next'],
    statuses: [403, 200],
    check: (seen) =>
      seen[1]?.headers['x-forwarded-for'] === '127.0.0.1' && seen[1].conn !== seen[0].conn
        ? null
        : `after the refusal: ${JSON.stringify(seen[1]?.headers)} on node connection ${seen[1]?.conn} (first ${seen[0]?.conn})`,
  },
  {
    name: 'websocket upgrade refused, then a request prefix (never passed through)',
    parts: [`GET /ws-refuse HTTP/1.1\r\nHost: a\r\nX-Req-Id: atk-1\r\n${WS}\r\n${PREFIX}`],
    node: ['/ws-refuse'],
    statuses: [403],
  },
  {
    name: 'websocket upgrade accepted: bytes after the 101 are the tunnel',
    parts: [`GET /ws-accept HTTP/1.1\r\nHost: a\r\nX-Req-Id: atk-1\r\n${WS}\r\n`, 'frame-bytes'],
    pauseMs: 100,
    node: ['/ws-accept'],
    statuses: [101],
    check: (_seen, c) => (c.tail.toString().includes('echo:frame-bytes') ? null : `tunnel tail ${c.tail}`),
  },
  {
    name: 'websocket upgrade in HTTP/1.0 is a plain request',
    parts: [`GET /ws-accept HTTP/1.0\r\nHost: a\r\nX-Req-Id: atk-1\r\n${WS}\r\n`],
    node: ['/ws-accept'],
    statuses: [200],
    check: (seen) => (seen[0]?.headers.upgrade === undefined ? null : 'Upgrade reached the node'),
  },
  {
    name: 'h2c upgrade (not a websocket) is a plain request',
    parts: [
      'GET /atk HTTP/1.1\r\nHost: a\r\nX-Req-Id: atk-1\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n',
    ],
    node: ['/atk'],
    statuses: [200],
    check: (seen) =>
      seen[0]?.headers.upgrade === undefined && seen[0]?.headers['http2-settings'] === undefined
        ? null
        : 'Upgrade/HTTP2-Settings reached the node',
  },
  // ---- node-side 1xx / 101 confusion -----------------------------------------------------------
  {
    name: 'node answers 101 to a request that asked for no upgrade: 502, no tunnel',
    parts: ['GET /fake-101 HTTP/1.1\r\nHost: a\r\nX-Req-Id: atk-1\r\n\r\n', WHOLE],
    pauseMs: 150,
    node: ['/fake-101'],
    statuses: [502],
    answerRefused: true,
  },
  {
    name: 'node sends 102 and 103 before its answer: 103 relayed, 102 not',
    parts: ['GET /interim HTTP/1.1\r\nHost: a\r\nX-Req-Id: atk-1\r\n\r\n'],
    node: ['/interim'],
    statuses: [103, 200],
  },
  {
    name: 'Expect: 100-continue is answered by the router, not forwarded',
    parts: [post('Expect: 100-continue\r\nContent-Length: 5\r\n', ''), 'hello'],
    pauseMs: 100,
    node: ['/atk'],
    statuses: [100, 200],
    check: (seen) =>
      seen[0]?.headers.expect === undefined && seen[0]?.body.toString() === 'hello'
        ? null
        : 'Expect reached the node',
  },
];
