/**
 * The captured ClientHello vectors (test/fixtures/tls/, made by capture-hellos.ts) and what
 * they must decode to, read from OpenSSL's own decoding of each hello (`s_server -trace`)
 * and of each session (`sess_id -text`), never from the parser under test.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'tls');

export interface HelloVector {
  name: string;
  bytes: Buffer;
  expected: {
    serverName: string | null;
    alpn: string[];
    legacyVersion: number;
    sessionId: string;
    cipherSuites: number[];
    supportedVersions: number[];
    signatureAlgorithms: number[];
    supportedGroups: number[];
    /** hex; null = no session_ticket extension */
    sessionTicket: string | null;
    /** hex of the first identity; null = no pre_shared_key extension */
    firstPskIdentity: string | null;
  };
}

interface ManifestEntry {
  name: string;
  serverName: string | null;
  alpn: string[];
}

/** extension id → the lines listed under `extension_type=NAME(ID), length=N` */
function traceExtensions(trace: string): Map<number, { length: number; lines: string[] }> {
  const out = new Map<number, { length: number; lines: string[] }>();
  let current: string[] | null = null;
  for (const line of trace.split('\n')) {
    const m = /^\s+extension_type=[^(]*\((\d+)\), length=(\d+)$/.exec(line);
    if (m) {
      current = [];
      out.set(Number(m[1]), { length: Number(m[2]), lines: current });
    } else if (current && /^ {10,}\S/.test(line)) {
      current.push(line.trim());
    } else {
      current = null;
    }
  }
  return out;
}

/** Bytes of an OpenSSL hex dump (`0000 - 00 d6 00 d0 5f-09 ...   ascii`). */
function hexDump(lines: string[]): string {
  let hex = '';
  for (const line of lines) {
    const m = /^[0-9a-f]{4} - ((?:[0-9a-f]{2}[ -]){0,15}[0-9a-f]{2})/.exec(line.trim());
    if (m) hex += m[1].replace(/[ -]/g, '');
  }
  return hex;
}

function expectFromTrace(trace: string, session: string | null, m: ManifestEntry): HelloVector['expected'] {
  const exts = traceExtensions(trace);
  const ver = /client_version=0x([0-9a-f]+)/.exec(trace);
  const sid = /session_id \(len=\d+\): ([0-9A-F]*)/.exec(trace);
  const suites = [...trace.matchAll(/\{0x([0-9A-F]{2}), 0x([0-9A-F]{2})\}/g)].map(
    (x) => (Number.parseInt(x[1], 16) << 8) | Number.parseInt(x[2], 16),
  );
  const numbers = (id: number, re: RegExp, radix = 10): number[] =>
    (exts.get(id)?.lines ?? [])
      .map((l) => re.exec(l))
      .flatMap((x) => (x ? [Number.parseInt(x[1], radix)] : []));
  let sessionTicket: string | null = null;
  const ticketExt = exts.get(35);
  if (ticketExt) {
    const t = /ticket \(len=\d+\): ([0-9A-F]+)/.exec(ticketExt.lines.join('\n'));
    sessionTicket = ticketExt.length === 0 ? '' : (t?.[1].toLowerCase() ?? 'unreadable');
  }
  let firstPskIdentity: string | null = null;
  if (exts.has(41)) {
    // the identity is the ticket OpenSSL stored in the session
    const dump = session?.split('TLS session ticket:')[1]?.split('\n\n')[0] ?? '';
    firstPskIdentity = hexDump(dump.split('\n'));
  }
  return {
    serverName: m.serverName === null ? null : m.serverName.toLowerCase(),
    alpn: exts.get(16)?.lines ?? [],
    legacyVersion: Number.parseInt(ver?.[1] ?? '0', 16),
    sessionId: (sid?.[1] ?? '').toLowerCase(),
    cipherSuites: suites,
    supportedVersions: numbers(43, /\((\d+)\)$/),
    signatureAlgorithms: numbers(13, /\(0x([0-9a-f]{4})\)$/, 16),
    supportedGroups: numbers(10, /\((\d+)\)$/),
    sessionTicket,
    firstPskIdentity,
  };
}

export function loadHelloVectors(): HelloVector[] {
  const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as ManifestEntry[];
  return manifest.map((m) => {
    const hex = readFileSync(join(DIR, `${m.name}.hex`), 'utf8').replace(/\s+/g, '');
    const trace = readFileSync(join(DIR, `${m.name}.trace.txt`), 'latin1');
    let session: string | null = null;
    try {
      session = readFileSync(join(DIR, `${m.name}.session.txt`), 'latin1');
    } catch {
      session = null;
    }
    return { name: m.name, bytes: Buffer.from(hex, 'hex'), expected: expectFromTrace(trace, session, m) };
  });
}
