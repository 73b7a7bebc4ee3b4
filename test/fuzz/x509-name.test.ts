import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { x509SubjectOneline } from '../../src/protocol/x509-name.ts';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'x509');
const CERTS = readdirSync(DIR)
  .filter((f) => f.endsWith('.pem'))
  .map((f) => new X509Certificate(readFileSync(join(DIR, f))).raw);

/** HTTPS_DN is one uwsgi var: printable ASCII only, whatever the certificate holds. */
function checkShape(r: string | null): void {
  if (r !== null) assert.match(r, /^[\x20-\x7e]*$/);
}

test('random bytes never throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (a) => checkShape(x509SubjectOneline(a))),
    { numRuns: 3000 },
  );
});

test('real certificates with random bytes overwritten never throw and stay printable', () => {
  fc.assert(
    fc.property(
      fc.nat(CERTS.length - 1),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
      (which, edits) => {
        const d = Buffer.from(CERTS[which]);
        for (const [at, v] of edits) d[at % d.length] = v;
        checkShape(x509SubjectOneline(d));
      },
    ),
    { numRuns: 3000 },
  );
});
