/**
 * Full TLS handshakes per second through a TLS router, and its CPU per handshake: `clients`
 * `openssl s_time -new -www /` processes in parallel (a new connection and a full handshake
 * for every request; wrk would resume sessions), reading the node's answer so the router
 * connects the node each time. The certificates (RSA-2048 and ECDSA P-256, signed by a test
 * CA) are made once per run and given to every router.
 */
import type { ServerHandle } from '../../test/interop/harness/server-process.ts';
import { type CertFiles, TestCerts } from '../../test/tls/test-certs.ts';
import { firstLines } from './context.ts';
import { cpuSince, cpuSnapshot, memoryOf } from './proc.ts';
import { type RoundUnit, unitOf } from './rounds.ts';
import { sTime } from './s-time.ts';
import type { Role } from './scenario.ts';
import { fmt, markdownTable, median, ratio } from './stats.ts';
import type { Comparison, Section } from './summary.ts';

export type CertKind = 'RSA-2048' | 'ECDSA P-256';
export const CERT_KINDS: readonly CertKind[] = ['RSA-2048', 'ECDSA P-256'];

let certs: { dir: TestCerts; files: Record<CertKind, CertFiles> } | undefined;

/** A `localhost`/127.0.0.1 certificate of each kind (made on first use, shared). */
export function benchCerts(): { dir: TestCerts; files: Record<CertKind, CertFiles> } {
  if (!certs) {
    const dir = new TestCerts('bench-tls');
    const ca = dir.ca();
    certs = {
      dir,
      files: {
        'RSA-2048': dir.leaf(ca, 'localhost', { kind: 'rsa', names: ['127.0.0.1'], stem: 'bench-rsa' }),
        'ECDSA P-256': dir.leaf(ca, 'localhost', {
          kind: 'ecdsa',
          names: ['127.0.0.1'],
          stem: 'bench-ecdsa',
        }),
      },
    };
  }
  return certs;
}

export interface HandshakeRun {
  handshakesPerSecond: number;
  cpuUserUsPerHandshake: number;
  cpuSystemUsPerHandshake: number;
  rssBytes: number;
  /** proportional set size of the tree (shared pages divided among its processes) */
  pssBytes: number;
  /** bytes of the node's answer read per connection (0 = nothing came back) */
  bytesPerConnection: number;
}

export interface HandshakeTarget {
  id: string;
  label: string;
  role: Role;
  cert: CertKind;
  launch: () => Promise<ServerHandle>;
  router?: ServerHandle;
  failure?: string;
  skipped?: string;
  runs: HandshakeRun[];
}

/** `clients` s_time clients for `secs` seconds against the target's port. */
export async function measureHandshakes(
  router: ServerHandle,
  clients: number,
  secs: number,
): Promise<HandshakeRun> {
  const before = cpuSnapshot(router.pid);
  const start = performance.now();
  const results = await Promise.all(Array.from({ length: clients }, () => sTime(router.port!, secs)));
  const elapsed = (performance.now() - start) / 1000;
  const used = cpuSince(before, router.pid);
  const connections = results.reduce((n, r) => n + r.connections, 0);
  const per = (s: number) => (connections > 0 ? (s / connections) * 1e6 : Number.NaN);
  return {
    handshakesPerSecond: connections / elapsed,
    cpuUserUsPerHandshake: per(used.user),
    cpuSystemUsPerHandshake: per(used.system),
    ...memoryOf(router.pid),
    bytesPerConnection: Math.min(...results.map((r) => r.bytes)),
  };
}

function handshakeUnit(t: HandshakeTarget, clients: number, seconds: number): RoundUnit {
  return unitOf(t, {
    ready: () => t.router !== undefined,
    warm: async () => {
      const r = await measureHandshakes(t.router!, clients, 1);
      if (r.bytesPerConnection === 0) throw new Error('no answer from the node came back');
    },
    measure: async () => {
      const r = await measureHandshakes(t.router!, clients, seconds);
      t.runs.push(r);
      return `${fmt(r.handshakesPerSecond)} handshakes/s, ${fmt(r.cpuUserUsPerHandshake + r.cpuSystemUsPerHandshake, 1)} µs CPU each`;
    },
  });
}

export interface HandshakeSummary {
  handshakesPerSecond: number;
  cpuUserUsPerHandshake: number;
  cpuSystemUsPerHandshake: number;
  rssBytes: number;
  /** proportional set size of the tree (shared pages divided among its processes) */
  pssBytes: number;
}

export function summarizeHandshakes(runs: readonly HandshakeRun[]): HandshakeSummary {
  return {
    handshakesPerSecond: median(runs.map((r) => r.handshakesPerSecond)),
    cpuUserUsPerHandshake: median(runs.map((r) => r.cpuUserUsPerHandshake)),
    cpuSystemUsPerHandshake: median(runs.map((r) => r.cpuSystemUsPerHandshake)),
    rssBytes: runs.length ? Math.max(...runs.map((r) => r.rssBytes)) : Number.NaN,
    pssBytes: runs.length ? Math.max(...runs.map((r) => r.pssBytes)) : Number.NaN,
  };
}

/**
 * Handshake targets as a section: started before the rounds, one s_time batch per round;
 * uwrouter compared with the uWSGI target of the same certificate. `path` names the
 * summary's rows (`HTTPS router handshakes`).
 */
export function handshakeSection(opts: {
  id: string;
  title: string;
  path: string;
  targets: HandshakeTarget[];
  clients: number;
  seconds: number;
}): Section {
  const { targets, clients, seconds } = opts;
  const peerOf = (t: HandshakeTarget) => targets.find((b) => b.cert === t.cert && b.role === 'uwsgi');
  return {
    id: opts.id,
    async start() {
      for (const t of targets) {
        try {
          t.router = await t.launch();
        } catch (err) {
          t.failure = `did not start: ${firstLines(err)}`;
        }
      }
    },
    units: () => targets.map((t) => handshakeUnit(t, clients, seconds)),
    print() {
      console.log(
        `\n### ${opts.title}\n\nFull handshakes: ${clients} \`openssl s_time -new -www /\` clients in parallel, ${seconds} s runs, median of the runs; CPU, RSS and PSS of the router's process tree.\n`,
      );
      console.log(
        markdownTable(
          [
            'router',
            'handshakes/s',
            'CPU µs/handshake',
            'user',
            'sys',
            'RSS MiB',
            'PSS MiB',
            '× uWSGI (same cert)',
          ],
          targets.map((t) => {
            if (t.runs.length === 0) return [t.label, 'FAILED', '', '', '', '', '', ''];
            const s = summarizeHandshakes(t.runs);
            const b = peerOf(t);
            return [
              t.label,
              fmt(s.handshakesPerSecond),
              fmt(s.cpuUserUsPerHandshake + s.cpuSystemUsPerHandshake, 1),
              fmt(s.cpuUserUsPerHandshake, 1),
              fmt(s.cpuSystemUsPerHandshake, 1),
              fmt(s.rssBytes / 1048576, 1),
              fmt(s.pssBytes / 1048576, 1),
              b?.runs.length
                ? ratio(s.handshakesPerSecond, summarizeHandshakes(b.runs).handshakesPerSecond)
                : '—',
            ];
          }),
        ),
      );
    },
    comparisons() {
      const fig = (t: HandshakeTarget) => {
        const s = summarizeHandshakes(t.runs);
        return {
          label: t.label,
          value: s.handshakesPerSecond,
          cpuUser: s.cpuUserUsPerHandshake,
          cpuSystem: s.cpuSystemUsPerHandshake,
          rssBytes: s.rssBytes,
          pssBytes: s.pssBytes,
        };
      };
      return targets
        .filter((t) => t.role === 'uwrouter' && t.runs.length > 0 && peerOf(t)?.runs.length)
        .map(
          (t): Comparison => ({
            path: `${opts.path}, ${t.cert}`,
            unit: 'handshakes/s',
            cpuUnit: 'µs/handshake',
            higherIsBetter: true,
            ours: fig(t),
            peer: fig(peerOf(t)!),
          }),
        );
    },
    items: () => targets,
    json: () =>
      targets.map((t) => ({
        id: t.id,
        label: t.label,
        role: t.role,
        cert: t.cert,
        failure: t.failure,
        runs: t.runs,
      })),
  };
}
