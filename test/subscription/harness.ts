/** Shared set-up for the subscription tests: fake clock, captured logs, packet builders. */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { encodeSubscription, type SubscriptionFields } from '../../src/protocol/subscription.ts';
import { SubscriptionReceiver } from '../../src/subscription/receiver.ts';
import { PublicKeyStore } from '../../src/subscription/signatures.ts';
import { SubscriptionTable, type SubscriptionTableOptions } from '../../src/subscription/table.ts';

export const FIXTURES = new URL('../fixtures/subscription/', import.meta.url).pathname;
export const KEYS = new URL('../fixtures/keys/', import.meta.url).pathname;

export function fixture(name: string): Buffer {
  return readFileSync(join(FIXTURES, name));
}

export class FakeClock {
  t: number;
  constructor(t = 1795240230) {
    this.t = t;
  }
  now(): number {
    return this.t;
  }
}

/** A pino logger whose messages land in `lines`. */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino(
    { level: 'debug', base: undefined, timestamp: false },
    {
      write(s: string) {
        lines.push((JSON.parse(s) as { msg: string }).msg);
      },
    },
  );
  return { logger, lines };
}

export function makeTable(opts: Partial<SubscriptionTableOptions> = {}) {
  const clock = new FakeClock();
  const { logger, lines } = captureLogger();
  const table = new SubscriptionTable({ logger, clock, sweepIntervalMs: 0, pid: 4242, ...opts });
  const receiver = new SubscriptionReceiver(table);
  return { clock, table, receiver, lines, logger };
}

export function packet(cmd: 'subscribe' | 'unsubscribe', f: SubscriptionFields): Buffer {
  const r = encodeSubscription(cmd, f);
  if (!r.ok) throw new Error('encode failed');
  return r.packet;
}

export const privateKey: KeyObject = createPrivateKey(readFileSync(join(KEYS, 'private.pem')));

export function signedPacket(
  cmd: 'subscribe' | 'unsubscribe',
  f: SubscriptionFields,
  now: number,
  digest = 'sha256',
): Buffer {
  const r = encodeSubscription(cmd, f, { digest, privateKey, now });
  if (!r.ok) throw new Error('encode failed');
  return r.packet;
}

/** A temp DIR holding public.pem as `<key>.pem` for each key. */
export function keyDir(...keys: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'uwr-keys-'));
  for (const k of keys) copyFileSync(join(KEYS, 'public.pem'), join(dir, `${k}.pem`));
  return dir;
}

export function makeSignedTable(dir: string, digest = 'sha256', tolerance = 86400) {
  const t = makeTable();
  const store = new PublicKeyStore({ checks: [{ digest, dir }] });
  const receiver = new SubscriptionReceiver(t.table, { signing: { store, tolerance } });
  return { ...t, receiver, store };
}
