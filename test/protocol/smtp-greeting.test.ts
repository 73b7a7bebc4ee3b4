import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type GreetingResult, SmtpGreetingReader, xclientLine } from '../../src/protocol/smtp-greeting.ts';

/** feeds `text` split at `cut` (0 = whole) and returns the verdict and the rest */
function read(text: string, cut = 0, limit = 4096): GreetingResult {
  const r = new SmtpGreetingReader(limit);
  const b = Buffer.from(text, 'latin1');
  const parts = cut > 0 && cut < b.length ? [b.subarray(0, cut), b.subarray(cut)] : [b];
  let out: GreetingResult = { state: 'need-more' };
  for (const p of parts) {
    out = r.push(p);
    if (out.state !== 'need-more') break;
  }
  return out;
}

test('a one-line greeting ends at its CR LF; the bytes after it are the rest (uWSGI: the first line)', () => {
  const text = '220 mx.example ESMTP\r\nEXTRA';
  for (let cut = 0; cut < text.length; cut++) {
    const r = read(text, cut);
    assert.equal(r.state, 'done', `cut ${cut}`);
    // the rest is what followed the greeting in the chunk that completed it
    if (r.state === 'done' && cut <= 21) assert.equal(r.rest.toString(), 'EXTRA', `cut ${cut}`);
  }
});

test('a multi-line greeting (RFC 5321 §4.2.1 "220-") is read to its last line', () => {
  const text = '220-mx.example first\r\n220-second\r\n220 last\r\nX';
  for (let cut = 0; cut < text.length; cut++) {
    const r = read(text, cut);
    assert.equal(r.state, 'done', `cut ${cut}`);
    if (r.state === 'done' && cut < text.length - 1) assert.equal(r.rest.toString(), 'X', `cut ${cut}`);
  }
  assert.equal(read('220-a\r\n220-b\r\n').state, 'need-more');
  // a line that is not an SMTP reply line ends the greeting, as in uWSGI
  const odd = read('hello-there\r\nrest');
  assert.ok(odd.state === 'done' && odd.rest.toString() === 'rest');
});

test('CR without LF and greetings past the limit are errors; a bare LF is part of the line', () => {
  assert.deepEqual(read('220 x\rY'), { state: 'error', reason: 'bare-cr' });
  assert.deepEqual(read(`220 ${'x'.repeat(60)}\r\n`, 0, 64), { state: 'error', reason: 'too-long' });
  assert.equal(read(`220 ${'x'.repeat(58)}\r\n`, 0, 64).state, 'done');
  assert.equal(read('220 a\nb').state, 'need-more');
});

test('XCLIENT lines: IPv4 as is, IPv4-mapped as IPv4, IPv6 with the IPV6: prefix, nothing for a non-IP client', () => {
  assert.equal(xclientLine('192.0.2.1')?.toString(), 'XCLIENT ADDR=192.0.2.1\r\n');
  assert.equal(xclientLine('::ffff:192.0.2.1')?.toString(), 'XCLIENT ADDR=192.0.2.1\r\n');
  assert.equal(xclientLine('2001:DB8::0001')?.toString(), 'XCLIENT ADDR=IPV6:2001:db8::1\r\n');
  assert.equal(xclientLine(''), null);
  assert.equal(xclientLine('/run/client.sock'), null);
});
