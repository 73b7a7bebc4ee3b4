/**
 * Micro-benchmark of the uwsgi codec hot paths (npx node bench/uwsgi-codec-bench.ts):
 * the streaming head reader, the fastrouter key scan, full decode and encode, on the real
 * nginx capture.
 */
import { readFileSync } from 'node:fs';
import { readFastrouterKey } from '../src/fastrouter/key.ts';
import { decodePacket, encodePacket } from '../src/protocol/uwsgi.ts';
import { UwsgiHeadReader } from '../src/protocol/uwsgi-reader.ts';

const packet = readFileSync(new URL('../test/fixtures/request/nginx-uwsgi_pass-get.bin', import.meta.url));
const vars = decodePacket(packet).vars;

function bench(name: string, fn: () => unknown): void {
  const n = 300_000;
  for (let i = 0; i < 20_000; i++) fn();
  const t0 = process.hrtime.bigint();
  let sink: unknown;
  for (let i = 0; i < n; i++) sink = fn();
  const ns = Number(process.hrtime.bigint() - t0) / n;
  console.log(
    `${name.padEnd(44)} ${(1e9 / ns).toFixed(0).padStart(10)} ops/s ${ns.toFixed(0).padStart(6)} ns/op`,
  );
  if (sink === Symbol.for('never')) console.log(sink);
}

console.log(`packet: ${packet.length} bytes, ${vars.length} vars (nginx uwsgi_pass capture)`);
bench('UwsgiHeadReader (one chunk)', () => new UwsgiHeadReader(4096).push(packet));
bench('UwsgiHeadReader (split in 3)', () => {
  const r = new UwsgiHeadReader(4096);
  r.push(packet.subarray(0, 2));
  r.push(packet.subarray(2, 100));
  return r.push(packet.subarray(100));
});
bench('readFastrouterKey', () => readFastrouterKey(packet));
bench('decodePacket (all vars to strings)', () => decodePacket(packet));
bench('encodePacket', () => encodePacket(0, vars));
