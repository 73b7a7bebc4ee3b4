/**
 * The cache UDP sync between two caches of this process over loopback (spec:
 * ssl-sni-sessions.md §7): writes reach the node, applied packets are not sent again (no
 * loop), deletes are honoured; sealed sync (secret=) works between holders of the secret,
 * refuses plaintext, another secret and replays, and the counters say so.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CacheSystem } from '../../src/cache/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { silentLogger } from '../../src/logger.ts';
import { encodeCacheSync } from '../../src/protocol/cache-sync.ts';
import { pollUntil } from '../interop/harness/poll.ts';
import { freePort, tmpDir } from '../interop/harness/ports.ts';
import { recordingLogger } from './cache-settings.ts';

async function system(cache2: string, log = silentLogger()): Promise<CacheSystem> {
  const s = CacheSystem.fromConfig(loadConfig(['--cache2', cache2], {}).config, log);
  await s.start();
  return s;
}

function secretFile(text: string): string {
  const f = join(tmpDir('cache-secret'), 'secret');
  writeFileSync(f, `${text}\n`, { mode: 0o600 });
  return f;
}

const b = (s: string) => Buffer.from(s, 'latin1');
const send = (port: number, packet: Buffer) =>
  new Promise<void>((resolve) => {
    const s = createSocket('udp4');
    s.send(packet, port, '127.0.0.1', () => {
      s.close();
      resolve();
    });
  });

describe('plain UDP sync (uWSGI wire format)', () => {
  test('a write goes to the node; the node applies it and does not send it back; a delete removes it', async (t) => {
    const [pa, pb] = [await freePort(), await freePort()];
    const a = await system(`name=c,items=10,udp=127.0.0.1:${pa},nodes=127.0.0.1:${pb}`);
    const bSys = await system(`name=c,items=10,udp=127.0.0.1:${pb},nodes=127.0.0.1:${pa}`);
    t.after(async () => {
      await a.close();
      await bSys.close();
    });
    const ca = a.find('c')!.local!;
    const cb = bSys.find('c')!.local!;
    ca.set('k', b('v1'), 60);
    await pollUntil('set reached B', () => (cb.get('k')?.toString() === 'v1' ? true : undefined));
    assert.equal(cb.expiresOf('k'), ca.expiresOf('k'), 'the absolute expiry travels');
    ca.update('k', b('v2'));
    await pollUntil('update reached B', () => (cb.get('k')?.toString() === 'v2' ? true : undefined));
    assert.equal(cb.expiresOf('k'), 0);
    ca.delete('k');
    await pollUntil('delete reached B', () => (cb.has('k') ? undefined : true));
    // B sent nothing back: its writes were all applied deltas
    assert.equal(bSys.find('c')!.sync!.counters.sent, 0);
    assert.equal(a.find('c')!.sync!.counters.received, 0);
    assert.deepEqual(
      [bSys.find('c')!.sync!.counters.applied, bSys.find('c')!.sync!.counters.deleted],
      [2, 1],
    );
  });

  test('bad datagrams are counted by reason and change nothing', async (t) => {
    const p = await freePort();
    const s = await system(`name=c,items=10,udp=127.0.0.1:${p}`);
    t.after(() => s.close());
    const good = encodeCacheSync({ op: 'set', key: b('k'), value: b('v'), expires: 0 });
    assert.ok(good.ok);
    const badSize = Buffer.from(good.packet);
    badSize[1]++;
    await send(p, Buffer.from('hello'));
    await send(p, badSize);
    await send(p, good.packet.subarray(0, 8));
    const sync = s.find('c')!.sync!;
    await pollUntil('3 read', () => (sync.counters.received === 3 ? true : undefined));
    assert.deepEqual(sync.counters.refused, { 'not-cache-packet': 1, 'bad-size': 2 });
    assert.equal(s.find('c')!.local!.size, 0);
  });

  test('an item too large for one datagram is not sent, and counted', async (t) => {
    const pb = await freePort();
    const a = await system(`name=c,items=10,blocksize=100000,nodes=127.0.0.1:${pb}`);
    t.after(() => a.close());
    assert.equal(a.find('c')!.local!.set('big', Buffer.alloc(70000, 1)), 'ok');
    assert.equal(a.find('c')!.sync!.counters.too_large, 1);
    assert.equal(a.find('c')!.sync!.counters.sent, 0);
  });
});

describe('sealed UDP sync (secret=)', () => {
  test('holders of the secret sync; plaintext, another secret and replays are refused and counted', async (t) => {
    const secret = secretFile('a very secret string, 32 bytes!');
    const other = secretFile('another secret string of 32 byte');
    const [pa, pb, pc] = [await freePort(), await freePort(), await freePort()];
    const { lines, log } = recordingLogger();
    const receiver = await system(`name=s,items=10,udp=127.0.0.1:${pb},secret=${secret}`, log);
    const sender = await system(`name=s,items=10,udp=127.0.0.1:${pa},nodes=127.0.0.1:${pb},secret=${secret}`);
    const stranger = await system(
      `name=s,items=10,udp=127.0.0.1:${pc},nodes=127.0.0.1:${pb},secret=${other},secret_aead=chacha20-poly1305`,
    );
    t.after(async () => {
      await receiver.close();
      await sender.close();
      await stranger.close();
    });
    const rc = receiver.find('s')!.local!;
    const sync = receiver.find('s')!.sync!;
    assert.equal(sync.sealed, true);

    // capture what the sender puts on the wire, to replay it
    const wire: Buffer[] = [];
    const spy = createSocket('udp4');
    const spyPort = await freePort();
    await new Promise<void>((r) => spy.bind(spyPort, '127.0.0.1', () => r()));
    spy.on('message', (m) => wire.push(m));
    t.after(() => spy.close());
    const spySender = await system(`name=s,items=10,nodes=127.0.0.1:${spyPort},secret=${secret}`);
    t.after(() => spySender.close());

    sender.find('s')!.local!.set('session', b('master secret inside'), 300);
    await pollUntil('sealed set applied', () =>
      rc.get('session')?.toString() === 'master secret inside' ? true : undefined,
    );

    stranger.find('s')!.local!.set('forged', b('x'));
    const plain = encodeCacheSync({ op: 'set', key: b('plain'), value: b('x'), expires: 0 });
    assert.ok(plain.ok);
    await send(pb, plain.packet);
    spySender.find('s')!.local!.set('replayed', b('once'));
    await pollUntil('captured', () => (wire.length === 1 ? true : undefined));
    assert.equal(wire[0].indexOf('once'), -1, 'the value is not readable on the wire');
    await send(pb, wire[0]);
    await pollUntil('first copy applied', () => (rc.has('replayed') ? true : undefined));
    rc.delete('replayed');
    await send(pb, wire[0]);
    await pollUntil('all read', () => (sync.counters.received === 5 ? true : undefined));

    assert.deepEqual(sync.counters.refused, { 'bad-seal': 1, plaintext: 1, replay: 1 });
    assert.deepEqual([rc.has('forged'), rc.has('plain'), rc.has('replayed')], [false, false, false]);
    assert.equal(sync.counters.applied, 2);
    assert.ok(
      lines.some((l) => l.includes('refused a packet (plaintext)')),
      lines.join('\n'),
    );
  });

  test('a short secret file is refused at start-up; a readable one is warned about', () => {
    const short = secretFile('short');
    assert.throws(
      () =>
        CacheSystem.fromConfig(
          loadConfig(['--cache2', `name=s,items=3,udp=127.0.0.1:0,secret=${short}`], {}).config,
          silentLogger(),
        ),
      /holds 5 bytes; at least 16/,
    );
    const open = join(tmpDir('cache-secret'), 'open');
    writeFileSync(open, 'sixteen bytes or more', { mode: 0o644 });
    const { lines, log } = recordingLogger();
    CacheSystem.fromConfig(
      loadConfig(['--cache2', `name=s,items=3,udp=127.0.0.1:0,secret=${open}`], {}).config,
      log,
    );
    assert.ok(
      lines.some((l) => /can be read by other users \(mode 644\)/.test(l)),
      lines.join('\n'),
    );
  });
});
