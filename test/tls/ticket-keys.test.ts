/**
 * Ticket keys (src/tls/ticket-keys.ts): the key of each period checked against OpenSSL's own
 * HKDF (`openssl kdf`, an independent implementation, with the layout the file documents),
 * the accepted window of periods, the key file's checks and reload, and the ticket key name
 * read from real ClientHellos: OpenSSL's s_client and GnuTLS's gnutls-cli resuming TLS 1.2 and
 * TLS 1.3 sessions made by a server whose ticket key is known, recorded by a relay.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createServer as createTlsServer } from 'node:tls';
import type { ClientHello } from '../../src/protocol/tls-client-hello.ts';
import { readClientHello } from '../../src/protocol/tls-client-hello-reader.ts';
import {
  deriveTicketKey,
  offersTls13,
  readTicketSecret,
  TICKET_KEY_BYTES,
  TicketKeys,
  ticketKeyName,
} from '../../src/tls/ticket-keys.ts';
import { runTool } from '../interop/sslrouter-peers.ts';
import { TestCerts } from './test-certs.ts';

const dir = mkdtempSync(join(tmpdir(), 'uwr-ticket-keys-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** HKDF-SHA256 by the openssl CLI with the documented salt and info ("period" ‖ u64be). */
function opensslHkdf(secret: Buffer, period: number): Buffer {
  const info = Buffer.alloc(14);
  info.write('period');
  info.writeBigUInt64BE(BigInt(period), 6);
  const out = execFileSync('openssl', [
    'kdf',
    '-keylen',
    '48',
    '-kdfopt',
    'digest:SHA256',
    '-kdfopt',
    `hexkey:${secret.toString('hex')}`,
    '-kdfopt',
    'salt:uwrouter ticket keys v1',
    '-kdfopt',
    `hexinfo:${info.toString('hex')}`,
    'HKDF',
  ]).toString();
  return Buffer.from(out.trim().replace(/:/g, ''), 'hex');
}

describe('key derivation per period', () => {
  test('each period’s key is HKDF-SHA256 of the file as OpenSSL computes it, 48 bytes', () => {
    const secret = randomBytes(48);
    for (const period of [0, 1, 7, 480_000, 2 ** 32 - 1]) {
      const k = deriveTicketKey(secret, period);
      assert.equal(k.length, TICKET_KEY_BYTES);
      assert.deepEqual(k, opensslHkdf(secret, period), `period ${period}`);
    }
  });

  test('other periods and other files give other keys; the same file the same keys in any process', () => {
    const secret = randomBytes(32);
    const a = new TicketKeys(secret, { rotationSeconds: 60 });
    const b = new TicketKeys(Buffer.from(secret), { rotationSeconds: 60 });
    const names = new Set<string>();
    for (let p = 100; p < 110; p++) {
      assert.deepEqual(a.keyFor(p), b.keyFor(p));
      names.add(a.keyFor(p).subarray(0, 16).toString('hex'));
    }
    assert.equal(names.size, 10, 'every period has its own key name');
    assert.notDeepEqual(new TicketKeys(randomBytes(32), { rotationSeconds: 60 }).keyFor(100), a.keyFor(100));
  });

  test('periods follow the clock: floor(now / rotation) from the Unix epoch', () => {
    const clock = { t: 1_000 * 3600 * 500_000 + 3599_999 };
    const keys = new TicketKeys(randomBytes(32), { rotationSeconds: 3600, now: () => clock.t });
    assert.equal(keys.currentPeriod(), 500_000);
    clock.t += 1;
    assert.equal(keys.currentPeriod(), 500_001);
  });

  test('a key name is found for periods e−2 … e+1, never for e−3, e+2 or another file', () => {
    const secret = randomBytes(32);
    const keys = new TicketKeys(secret, { rotationSeconds: 2 });
    const e = 1_000;
    const name = (p: number) => deriveTicketKey(secret, p).subarray(0, 16);
    for (const p of [e - 2, e - 1, e, e + 1]) assert.equal(keys.periodOfName(name(p), e), p);
    for (const p of [e - 3, e + 2]) assert.equal(keys.periodOfName(name(p), e), null);
    const other = new TicketKeys(randomBytes(32), { rotationSeconds: 2 });
    assert.equal(keys.periodOfName(other.keyFor(e).subarray(0, 16), e), null);
    assert.equal(keys.accepts(e - 2, e), true);
    assert.equal(keys.accepts(e - 3, e), false);
    assert.equal(keys.accepts(e + 1, e), true);
    assert.equal(keys.accepts(e + 2, e), false);
  });
});

describe('the key file', () => {
  const file = (name: string, bytes: Buffer | string, mode = 0o600): string => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    chmodSync(p, mode);
    return p;
  };

  test('at least 32 bytes after trailing whitespace, not a constant, readable, a file', () => {
    // random bytes may end in whitespace, which the reader trims: end them in a byte that is not
    const short = Buffer.concat([randomBytes(30), Buffer.from([0xa5])]);
    assert.match(
      (readTicketSecret(file('short', short)) as { reason: string }).reason,
      /holds 31 bytes; at least 32/,
    );
    const hex31 = `${randomBytes(16).toString('hex').slice(0, 31)}\n\n  `;
    assert.match((readTicketSecret(file('short-hex', hex31)) as { reason: string }).reason, /holds 31 bytes/);
    assert.match(
      (readTicketSecret(file('zeros', Buffer.alloc(64))) as { reason: string }).reason,
      /does not look random \(1 distinct/,
    );
    assert.match((readTicketSecret(join(dir, 'absent')) as { reason: string }).reason, /ENOENT/);
    mkdirSync(join(dir, 'a-dir'), { recursive: true });
    assert.match((readTicketSecret(join(dir, 'a-dir')) as { reason: string }).reason, /not a regular file/);
    const bytes = randomBytes(48);
    const ok = readTicketSecret(file('good', bytes));
    assert.ok(ok.ok);
    assert.equal(ok.warning, undefined, 'mode 600: no warning');
    // a hex file and the same text with another line ending derive the same keys
    const hex = randomBytes(32).toString('hex');
    const a = readTicketSecret(file('hex-lf', `${hex}\n`));
    const b = readTicketSecret(file('hex-crlf', `${hex}\r\n`));
    assert.ok(a.ok && b.ok);
    assert.deepEqual(a.secret, b.secret);
    assert.equal(a.secret.toString(), hex);
  });

  test('a file other users can read is a warning naming its mode', () => {
    const r = readTicketSecret(file('open', randomBytes(48), 0o644));
    assert.ok(r.ok);
    assert.match(r.warning ?? '', /can be read by other users \(mode 644\).*chmod 600/);
  });

  test('TicketKeys.fromFile: a start-up error naming the option and the file', () => {
    const p = file('bad', 'x');
    assert.throws(
      () => TicketKeys.fromFile(p, { rotationSeconds: 60 }),
      (e: Error) =>
        e.name === 'ConfigError' && e.message.includes(`"--ssl-ticket-keys": ${p}: it holds 1 bytes`),
    );
  });

  test('reload: the same bytes change nothing, other bytes a new generation, a broken file keeps the keys', () => {
    const p = file('reloaded', randomBytes(48));
    const { keys } = TicketKeys.fromFile(p, { rotationSeconds: 60 });
    const before = keys.keyFor(5);
    assert.equal(keys.reload(), 'unchanged');
    assert.equal(keys.generation, 0);
    writeFileSync(p, randomBytes(48));
    assert.equal(keys.reload(), 'replaced');
    assert.equal(keys.generation, 1);
    assert.notDeepEqual(keys.keyFor(5), before);
    const now = keys.keyFor(5);
    writeFileSync(p, 'short');
    const r = keys.reload();
    assert.ok(typeof r === 'object' && /holds 5 bytes/.test(r.error));
    assert.equal(keys.generation, 1);
    assert.deepEqual(keys.keyFor(5), now);
  });
});

describe('the ticket key name in real ClientHellos', () => {
  const certs = new TestCerts('ticket-name');
  const ca = certs.ca();
  const leaf = certs.leaf(ca, 'localhost');
  const ticketKey = randomBytes(48);
  const servers: Server[] = [];
  after(() => {
    for (const s of servers) s.close();
  });

  /** A TLS server with a known ticket key, and a relay in front of it recording first flights. */
  async function recordedServer(): Promise<{ port: number; hellos: ClientHello[] }> {
    const tls = createTlsServer({
      cert: readFileSync(leaf.crt),
      key: readFileSync(leaf.key),
      ticketKeys: ticketKey,
      sessionIdContext: 'ticket-name-test',
    });
    // answers once the client speaks (a TLS 1.3 client waiting for its ticket must not get
    // the close first), and closes when the client does
    tls.on('secureConnection', (s) => {
      s.on('error', () => {});
      s.once('data', () => s.end('hello\n'));
      s.on('end', () => s.end());
    });
    tls.on('tlsClientError', () => {});
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
    const hellos: ClientHello[] = [];
    const relay = createServer((client) => {
      const up = connect((tls.address() as { port: number }).port, '127.0.0.1');
      let first: Buffer | null = Buffer.alloc(0);
      client.on('data', (d: Buffer) => {
        if (first !== null) {
          first = Buffer.concat([first, d]);
          const r = readClientHello(first);
          if (r.state === 'done') {
            hellos.push(r.hello);
            first = null;
          } else if (r.state === 'error') first = null;
        }
        up.write(d);
      });
      up.pipe(client);
      client.on('error', () => up.destroy());
      up.on('error', () => client.destroy());
      client.on('close', () => up.destroy());
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    servers.push(tls, relay);
    return { port: (relay.address() as { port: number }).port, hellos };
  }

  const NAME = ticketKey.subarray(0, 16);

  for (const [version, flag] of [
    ['TLS 1.3 (first PSK identity)', '-tls1_3'],
    ['TLS 1.2 (session_ticket extension)', '-tls1_2'],
  ] as const) {
    test(`openssl s_client resuming ${version}`, async () => {
      const { port, hellos } = await recordedServer();
      const sess = join(dir, `sess${flag}.pem`);
      const base = ['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', ca.crt, '-ign_eof', flag];
      const first = await runTool('openssl', [...base, '-sess_out', sess], { input: 'x' });
      assert.match(first.stdout, /^New, /m);
      const second = await runTool('openssl', [...base, '-sess_in', sess], { input: 'x' });
      assert.match(second.stdout, /^Reused, /m, 'the server resumed it: the ticket is real');
      assert.equal(hellos.length, 2);
      assert.equal(ticketKeyName(hellos[0]), null, 'a first hello carries no ticket');
      const name = ticketKeyName(hellos[1]);
      assert.ok(name !== null);
      assert.deepEqual(Buffer.from(name), NAME);
      assert.equal(offersTls13(hellos[1]), flag === '-tls1_3');
      if (flag === '-tls1_3') assert.equal(hellos[1].pskIdentities.length, 1);
      else assert.ok((hellos[1].sessionTicket?.length ?? 0) > 16);
    });
  }

  for (const [version, priority] of [
    ['TLS 1.3', 'NORMAL:-VERS-ALL:+VERS-TLS1.3'],
    ['TLS 1.2', 'NORMAL:-VERS-ALL:+VERS-TLS1.2'],
  ] as const) {
    test(`gnutls-cli --resume ${version}`, async () => {
      const { port, hellos } = await recordedServer();
      const r = await runTool(
        'gnutls-cli',
        [
          '--resume',
          '--waitresumption',
          '--x509cafile',
          ca.crt,
          '--priority',
          priority,
          '-p',
          String(port),
          'localhost',
        ],
        { input: '', timeoutMs: 15_000 },
      );
      assert.match(r.stdout, /This is a resumed session/, r.stdout + r.stderr);
      assert.equal(hellos.length, 2);
      assert.equal(ticketKeyName(hellos[0]), null);
      assert.deepEqual(Buffer.from(ticketKeyName(hellos[1]) ?? Buffer.alloc(0)), NAME);
    });
  }

  test('no ticket, an empty session_ticket, a short one, a PSK without TLS 1.3 offered', () => {
    const base: ClientHello = {
      legacyVersion: 0x0303,
      sessionId: Buffer.alloc(0),
      cipherSuites: [],
      serverName: null,
      alpn: [],
      sessionTicket: null,
      pskIdentities: [],
      supportedVersions: [0x0304, 0x0303],
      signatureAlgorithms: [],
      supportedGroups: [],
    };
    const ticket = Buffer.concat([NAME, randomBytes(100)]);
    assert.equal(ticketKeyName(base), null);
    assert.equal(ticketKeyName({ ...base, sessionTicket: Buffer.alloc(0) }), null);
    assert.equal(ticketKeyName({ ...base, sessionTicket: ticket.subarray(0, 15) }), null);
    assert.deepEqual(ticketKeyName({ ...base, sessionTicket: ticket }), NAME);
    // a TLS 1.3 client: the PSK identity wins over a TLS 1.2 ticket also offered
    const other = randomBytes(120);
    assert.deepEqual(ticketKeyName({ ...base, sessionTicket: other, pskIdentities: [ticket] }), NAME);
    // a PSK from a client that does not offer TLS 1.3 cannot be used: the TLS 1.2 ticket is
    assert.deepEqual(
      ticketKeyName({ ...base, supportedVersions: [], sessionTicket: ticket, pskIdentities: [other] }),
      NAME,
    );
    assert.equal(ticketKeyName({ ...base, pskIdentities: [ticket.subarray(0, 8)] }), null);
  });
});
