import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_VIA_HOPS, makeViaToken, viaLoop } from '../../src/http-router/via.ts';

const via = (...values: string[]) => values.map((value) => ({ name: 'Via', value }));

test('Via token: a pseudonym per router instance', () => {
  const a = makeViaToken();
  assert.match(a, /^uwrouter-[0-9a-f]{8}$/);
  assert.notEqual(a, makeViaToken());
});

test('viaLoop: own token anywhere in the chain, hop limit, others pass', () => {
  const t = 'uwrouter-0badcafe';
  assert.equal(viaLoop([{ name: 'Host', value: 'a' }], t), null);
  assert.equal(viaLoop(via(`1.1 ${t}`), t), 'Via names this router');
  assert.equal(
    viaLoop(via('1.0 fred, 1.1 p.example.net', `1.1 ${t} (uwrouter)`), t),
    'Via names this router',
  );
  assert.equal(viaLoop([{ name: 'VIA', value: `HTTP/1.1 ${t}` }], t), 'Via names this router');
  // a token that only starts the same, or sits in a comment, is someone else
  assert.equal(viaLoop(via(`1.1 ${t}0`, `1.1 other (${t})`), t), null);
  const hops = (n: number) => Array.from({ length: n }, (_, i) => `1.1 p${i}`).join(', ');
  assert.equal(viaLoop(via(hops(MAX_VIA_HOPS)), t), null);
  assert.equal(viaLoop(via(hops(MAX_VIA_HOPS + 1)), t), 'more than 10 Via hops');
  assert.equal(viaLoop(via(hops(6), hops(5)), t), 'more than 10 Via hops');
  assert.equal(viaLoop(via(' , ,1.1 a'), t), null);
});
