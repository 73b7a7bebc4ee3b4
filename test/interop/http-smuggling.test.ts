/**
 * Differential request-smuggling suite for the HTTP-node path. uwrouter (the CLI, on real
 * sockets, `--http-keepalive --http-websockets`) sits in front of a recording HTTP node
 * (Node's strict `http` parser, keep-alive, so the router pools its connections). Every
 * shape from the smuggling literature — CL.TE, TE.CL, TE.TE obfuscations, framing headers
 * listed in `Connection`, chunk-size quirks, refused upgrades, 1xx/101 confusion — is sent
 * by an attacker connection while victims send normal requests on other connections, in
 * parallel and right after (when they reuse the attacker's pooled node connection).
 * For each shape:
 *   (1) the node saw exactly the requests the router routed, in order, and nothing its
 *       parser refused (no request parsed from a body, no stray bytes);
 *   (2) every request the node parsed was answered to the client that sent it (the set of
 *       node sequence numbers the clients got equals the set the node recorded);
 *   (3) every victim got its own answer (its id and URL echoed);
 *   (4) the attacker got the router's refusal or its own answers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { freePort, type ServerHandle, startUwrouter } from './harness/index.ts';
import { type RecordingNode, startRecordingNode } from './smuggling/recording-node.ts';
import { type ClientResponse, type Conversation, converse } from './smuggling/responses.ts';
import { SHAPES, type Shape } from './smuggling/shapes.ts';

function victimRequest(id: string): string {
  return `GET /victim HTTP/1.1\r\nHost: victim.example\r\nX-Req-Id: ${id}\r\nConnection: close\r\n\r\n`;
}

async function victim(port: number, id: string): Promise<{ id: string; res: ClientResponse | undefined }> {
  const c = await converse(port, [victimRequest(id)], { want: 1, settleMs: 0 });
  return { id, res: c.responses[0] };
}

/** Node sequence numbers answered to clients (every node answer, 101 included, carries one). */
function answeredSeqs(responses: ClientResponse[]): number[] {
  return responses.flatMap((r) => (r.headers['x-node-seq'] ? [Number(r.headers['x-node-seq'])] : []));
}

describe('request smuggling to HTTP nodes (differential: recording node)', () => {
  let node: RecordingNode;
  let router: ServerHandle;
  let port: number;

  before(async () => {
    node = await startRecordingNode();
    port = await freePort();
    router = await startUwrouter([
      '--http',
      `127.0.0.1:${port}`,
      '--http-to',
      `http://127.0.0.1:${node.port}`,
      '--http-keepalive',
      '--http-websockets',
      '--http-timeout',
      '3',
    ]);
  });

  after(async () => {
    await router?.stop();
    await node?.close();
  });

  async function run(shape: Shape): Promise<{ attacker: Conversation; problems: string[] }> {
    node.reset();
    const parallel = [0, 1, 2].map((i) => victim(port, `v-${shape.name}-p${i}`));
    const attacker = await converse(port, shape.parts, {
      want: shape.statuses.length,
      pauseMs: shape.pauseMs,
      timeoutMs: 2500,
      settleMs: 300,
    });
    const victims = await Promise.all(parallel);
    // right after: these take the attacker's pooled node connection if it was pooled
    for (let i = 0; i < 3; i++) victims.push(await victim(port, `v-${shape.name}-s${i}`));
    const problems: string[] = [];
    for (const v of victims) {
      const a = v.res?.answer;
      if (v.res?.status !== 200 || a?.id !== v.id || a.url !== '/victim')
        problems.push(`victim ${v.id} got ${v.res?.status} ${v.res?.body.toString().slice(0, 120)}`);
    }
    const fromAttacker = node.seen.filter(
      (r) => r.url !== '/victim' || !String(r.headers['x-req-id']).startsWith('v-'),
    );
    const urls = fromAttacker.map((r) => r.url);
    if (JSON.stringify(urls) !== JSON.stringify(shape.node))
      problems.push(
        `node saw ${JSON.stringify(urls)} from the attacker, routed ${JSON.stringify(shape.node)}`,
      );
    if (node.parseErrors.length > 0) problems.push(`node parser refused bytes: ${node.parseErrors}`);
    const statuses = attacker.responses.map((r) => r.status);
    if (JSON.stringify(statuses) !== JSON.stringify(shape.statuses))
      problems.push(`attacker got ${JSON.stringify(statuses)}, expected ${JSON.stringify(shape.statuses)}`);
    for (const r of attacker.responses) {
      if (r.answer && !r.answer.id.startsWith('atk'))
        problems.push(`attacker got someone else's answer: ${JSON.stringify(r.answer)}`);
    }
    const answered = [
      ...answeredSeqs(attacker.responses),
      ...victims.flatMap((v) => (v.res ? answeredSeqs([v.res]) : [])),
    ];
    const refused = shape.answerRefused ? new Set(fromAttacker.map((r) => r.seq)) : new Set<number>();
    const recorded = node.seen.filter((r) => !refused.has(r.seq)).map((r) => r.seq);
    if (JSON.stringify([...answered].sort((a, b) => a - b)) !== JSON.stringify(recorded))
      problems.push(`node answered seqs ${recorded}, clients got ${answered}`);
    if (shape.check) {
      const why = shape.check(fromAttacker, attacker);
      if (why) problems.push(why);
    }
    return { attacker, problems };
  }

  for (const shape of SHAPES) {
    test(shape.name, async () => {
      const { problems } = await run(shape);
      assert.deepEqual(problems, []);
    });
  }

  test('load: Connection: content-length with a request as body, keepalive pooling → 0 wrong answers', async () => {
    node.reset();
    const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: a\r\nX-Req-Id: smuggled\r\nX-Ignore: ';
    const attack = (i: number): string =>
      `POST /atk HTTP/1.1\r\nHost: a\r\nX-Req-Id: atk-${i}\r\nConnection: content-length\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`;
    const wrong: string[] = [];
    const answered: number[] = [];
    const attackers = (async () => {
      for (let i = 0; i < 20; i++) {
        const c = await converse(port, [attack(i)], { want: 1, settleMs: 0, timeoutMs: 3000 });
        answered.push(...answeredSeqs(c.responses));
        if (c.responses[0]?.answer?.id !== `atk-${i}`) wrong.push(`attack ${i}: ${c.responses[0]?.status}`);
      }
    })();
    let next = 0;
    const workers = Array.from({ length: 8 }, async () => {
      while (next < 100) {
        const i = next++;
        const v = await victim(port, `load-${i}`);
        if (v.res) answered.push(...answeredSeqs([v.res]));
        if (v.res?.answer?.id !== v.id || v.res.answer.url !== '/victim')
          wrong.push(`victim ${i}: ${v.res?.status} ${v.res?.body.toString().slice(0, 100)}`);
      }
    });
    await Promise.all([attackers, ...workers]);
    assert.deepEqual(wrong, []);
    assert.equal(
      node.seen.filter((r) => r.url === '/smuggled').length,
      0,
      'the node parsed a smuggled request',
    );
    assert.deepEqual(
      [...answered].sort((a, b) => a - b),
      node.seen.map((r) => r.seq),
    );
  });
});
