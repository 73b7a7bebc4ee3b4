import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_VIA_HOPS, makeViaToken, viaVerdict } from '../../src/http-router/via.ts';

const via = (...values: string[]) => values.map((value) => ({ name: 'Via', value }));

test('Via token: a pseudonym per router instance', () => {
  const a = makeViaToken();
  assert.match(a, /^uwrouter-[0-9a-f]{8}$/);
  assert.notEqual(a, makeViaToken());
});

test('viaVerdict: own token anywhere in the chain, hop limit, others pass', () => {
  const t = 'uwrouter-0badcafe';
  assert.equal(viaVerdict([{ name: 'Host', value: 'a' }], t), null);
  assert.equal(viaVerdict(via(`1.1 ${t}`), t), 'own-token');
  assert.equal(viaVerdict(via('1.0 fred, 1.1 p.example.net', `1.1 ${t} (uwrouter)`), t), 'own-token');
  assert.equal(viaVerdict([{ name: 'VIA', value: `HTTP/1.1 ${t}` }], t), 'own-token');
  // a token that only starts the same, or sits in a comment, is someone else
  assert.equal(viaVerdict(via(`1.1 ${t}0`, `1.1 other (${t})`), t), null);
  const hops = (n: number) => Array.from({ length: n }, (_, i) => `1.1 p${i}`).join(', ');
  assert.equal(viaVerdict(via(hops(MAX_VIA_HOPS)), t), null);
  assert.equal(viaVerdict(via(hops(MAX_VIA_HOPS + 1)), t), 'too-many-hops');
  assert.equal(viaVerdict(via(hops(6), hops(5)), t), 'too-many-hops');
  assert.equal(viaVerdict(via(' , ,1.1 a'), t), null);
});
