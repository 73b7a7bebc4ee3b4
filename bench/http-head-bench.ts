/**
 * Micro-benchmark of the HTTP router's per-request protocol work: read + parse a request
 * head, then build the uwsgi packet (vars). Prints heads/s for a curl-sized and a
 * browser-sized head. Run: node bench/http-head-bench.ts
 */
import { buildRequestPacket } from '../src/http-router/request-vars.ts';
import { HttpRequestHeadReader } from '../src/protocol/http-request-head-reader.ts';

const CURL = Buffer.from(
  'GET /path/x?a=1&b=2 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: golden/1.0\r\nAccept: */*\r\n\r\n',
  'latin1',
);
const BROWSER = Buffer.from(
  'GET /static/app/../css/site.css?v=1234 HTTP/1.1\r\nHost: www.example.com\r\n' +
    'User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n' +
    'Accept: text/css,*/*;q=0.1\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n' +
    'Connection: keep-alive\r\nReferer: https://www.example.com/\r\n' +
    `Cookie: session=${'s'.repeat(64)}; theme=dark; consent=yes\r\n` +
    'Sec-Fetch-Dest: style\r\nSec-Fetch-Mode: no-cors\r\nSec-Fetch-Site: same-origin\r\nPriority: u=2\r\n\r\n',
  'latin1',
);

const INPUT = { serverName: 'vm', serverPort: '8080', remoteAddr: '127.0.0.1', remotePort: 40101 };

function run(name: string, head: Buffer, seconds: number): void {
  const reader = new HttpRequestHeadReader();
  let n = 0;
  let bytes = 0;
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    for (let i = 0; i < 1000; i++) {
      reader.reset();
      const r = reader.push(head);
      if (r.state !== 'done') throw new Error('bench head did not parse');
      const p = buildRequestPacket(r.head, INPUT);
      if (!p.ok) throw new Error('bench vars failed');
      bytes += p.packet.length;
    }
    n += 1000;
  }
  const rate = n / seconds;
  console.log(
    `${name.padEnd(16)} ${head.length.toString().padStart(4)} B head → ${Math.round(bytes / n)} B packet: ${Math.round(rate).toLocaleString('en-US')} heads parsed + vars built per second`,
  );
}

const seconds = Number(process.env.BENCH_SECONDS ?? 2);
run('warmup', CURL, 0.5);
run('curl request', CURL, seconds);
run('browser request', BROWSER, seconds);
