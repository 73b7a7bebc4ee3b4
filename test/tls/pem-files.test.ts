/**
 * Certificate files in a cluster (src/tls/pem-files.ts): what the primary's check read is
 * recorded for its workers; after the privilege drop a root-only file read at start is taken
 * as read then (and reported); a worker is served the primary's texts.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readPemFile, recordPemReads, usePemTexts } from '../../src/tls/pem-files.ts';

const isRoot = process.getuid?.() === 0;
const dir = mkdtempSync(join(tmpdir(), 'uwr-pem-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `fn` with the effective uid of nobody (root gets its uid back after). */
function asNobody<T>(fn: () => T): T {
  process.seteuid?.(65534);
  try {
    return fn();
  } finally {
    process.seteuid?.(0);
  }
}

test('the check records what it reads; files it did not read are not given', () => {
  const a = join(dir, 'a.pem');
  writeFileSync(a, 'A');
  const rec = recordPemReads(false);
  assert.deepEqual(readPemFile(a), { ok: true, text: 'A' });
  assert.deepEqual(readPemFile(join(dir, 'missing.pem')), { ok: false, code: 'ENOENT' });
  assert.deepEqual(rec.stop(), [[a, 'A']]);
  writeFileSync(a, 'A2');
  assert.deepEqual(readPemFile(a), { ok: true, text: 'A2' }, 'read again, nothing given');
});

test('after the drop, a root-only file read at start is taken as read then and reported', {
  skip: !isRoot && 'needs root (seteuid)',
}, () => {
  const secret = join(dir, 'root-only.key');
  const other = join(dir, 'root-only-2.key');
  writeFileSync(secret, 'KEY');
  writeFileSync(other, 'OTHER');
  chmodSync(secret, 0o600);
  chmodSync(other, 0o600);
  const start = recordPemReads(true);
  assert.equal(readPemFile(secret).ok, true);
  start.stop();
  writeFileSync(secret, 'RENEWED');
  const reload = recordPemReads(false);
  const [again, never] = asNobody(() => [readPemFile(secret), readPemFile(other)]);
  assert.deepEqual(again, { ok: true, text: 'KEY' });
  assert.deepEqual(never, { ok: false, code: 'EACCES' }, 'never read as root: refused');
  assert.deepEqual(reload.stop(), [[secret, 'KEY']]);
  assert.deepEqual(reload.denied(), [secret]);
});

test("a worker is served the primary's texts", () => {
  const gone = join(dir, 'not-here.crt');
  usePemTexts([[gone, 'CERT']]);
  assert.deepEqual(readPemFile(gone), { ok: true, text: 'CERT' });
});
