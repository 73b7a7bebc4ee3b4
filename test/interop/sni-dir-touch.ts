/**
 * The `--sni-dir` memory scenario shared by the load lane and bench/https-bench.ts: uwrouter's
 * HTTPS listener with N generated names in its --sni-dir, every name asked for once (a full
 * handshake each, a few at a time), the router's RSS read before and after, and its `tls`
 * stats (what was loaded and what the LRU bound dropped).
 */
import { connect } from 'node:tls';
import { procRssBytes } from '../../bench/lib/proc.ts';
import { freePort, readStatsJson } from './harness/index.ts';
import { uwrouterHttps } from './https-peers.ts';
import { sniDirName } from './sni-dir-certs.ts';

export interface SniDirTouchResult {
  names: number;
  /** VmRSS after start-up (listener certificate built, nothing from the directory) */
  rssBefore: number;
  /** VmRSS after every name was served once */
  rssAfter: number;
  /** handshakes whose certificate was not the name's own */
  wrongCertificates: number;
  tls: {
    handshakes: number;
    contexts: number;
    contexts_bytes: number;
    context_builds: number;
    sni_names: { dir: number };
  };
  ms: number;
}

/**
 * One handshake asking for `name`, then a request (so the router completes its side too; it
 * answers 502, no node): resolves at the close with the served certificate's CN.
 */
function servedCn(port: number, name: string): Promise<string> {
  return new Promise((resolve) => {
    let cn = '';
    const s = connect({ port, host: '127.0.0.1', servername: name, rejectUnauthorized: false });
    s.once('secureConnect', () => {
      cn = String(s.getPeerCertificate().subject?.CN ?? '');
      s.end('GET / HTTP/1.0\r\n\r\n');
    });
    s.resume();
    s.on('error', () => undefined);
    s.once('close', () => resolve(cn));
  });
}

export async function touchSniDir(
  dir: string,
  names: number,
  args: string[] = [],
  concurrency = 8,
): Promise<SniDirTouchResult> {
  const stats = await freePort();
  const r = await uwrouterHttps([
    '--http-to',
    '127.0.0.1:1',
    '--sni-dir',
    dir,
    '--http-stats',
    `127.0.0.1:${stats}`,
    ...args,
  ]);
  try {
    // settle start-up allocations before the baseline
    await new Promise((res) => setTimeout(res, 500));
    const rssBefore = procRssBytes(r.router.pid);
    const started = Date.now();
    let next = 0;
    let wrong = 0;
    const worker = async (): Promise<void> => {
      while (next < names) {
        const name = sniDirName(next++);
        if ((await servedCn(r.port, name)) !== name) wrong++;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const ms = Date.now() - started;
    const rssAfter = procRssBytes(r.router.pid);
    const doc = await readStatsJson<{ tls: SniDirTouchResult['tls'] }>(stats);
    return { names, rssBefore, rssAfter, wrongCertificates: wrong, tls: doc.tls, ms };
  } finally {
    await r.router.stop();
  }
}
