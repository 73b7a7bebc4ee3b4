/**
 * Subscription intake beside uWSGI's: how many new keys a second a subscription server takes
 * in with none lost. For each rate R, a fresh router (uwrouter's fastrouter and uWSGI's, each
 * with `--fastrouter-subscription-server` and `--fastrouter-stats`) is sent R announcements
 * for R distinct new keys over one second (paced every 10 ms, from this process over UDP
 * loopback); once its stats stop changing, the keys its stats list are counted. A key whose
 * announcement was dropped stays unknown until the node's next announce (10 s later).
 * "Keys/s with no drop" is the highest rate whose every key was known (median of the rounds).
 *
 *   node bench/subscription-intake-bench.ts [--rounds 3] [--rates 10000,50000,100000]
 *                                           [--entry src|dist] [--json FILE]
 */
import { createSocket, type Socket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeSubscription } from '../src/protocol/subscription.ts';
import { freePort, readStatsJson } from '../test/interop/harness/index.ts';
import type { ServerHandle } from '../test/interop/harness/server-process.ts';
import { startUwsgiRouter } from '../test/interop/harness/uwsgi.ts';
import type { BenchContext } from './lib/context.ts';
import { loadLabel, log } from './lib/rounds.ts';
import { runWrkBenchMain } from './lib/run-wrk-bench.ts';
import { fmt, markdownTable, median } from './lib/stats.ts';
import type { Comparison, Section } from './lib/summary.ts';

type IntakeRole = 'uwrouter' | 'uwsgi';

const LABEL: Record<IntakeRole, string> = {
  uwrouter: 'uwrouter fastrouter subscription server',
  uwsgi: "uWSGI's fastrouter subscription server",
};

interface IntakeRun {
  role: IntakeRole;
  rate: number;
  round: number;
  sent: number;
  sendSeconds: number;
  known: number;
  settleSeconds: number;
  failure?: string;
}

/** A share as a percentage that never rounds a loss up to 100% (49,998 of 50,000: 99.99%). */
function percent(share: number): number {
  return Math.floor(share * 10000) / 100;
}

/**
 * Node addresses on 127.2.0.0/16 (never contacted): none can be one of the router's own
 * sockets, which it refuses (on 127.0.0.1:20000-39999 one of its ephemeral ports was hit now
 * and then, and 2 of 50,000 keys were refused, not dropped).
 */
function announcement(key: string, i: number): Buffer {
  const address = `127.2.${(i >> 8) & 0xff}.${i & 0xff}:3031`;
  const r = encodeSubscription('subscribe', { key, address });
  if (!r.ok) throw new Error(`cannot encode a subscription for ${key}`);
  return r.packet;
}

/** Sends `packets` over one second: every 10 ms, what is due by then, each batch awaited. */
async function sendOverOneSecond(udp: Socket, packets: readonly Buffer[]): Promise<number> {
  const t0 = performance.now();
  let sent = 0;
  while (sent < packets.length) {
    const due = Math.min(packets.length, Math.ceil(((performance.now() - t0) / 1000) * packets.length));
    if (due > sent) {
      let pending = due - sent;
      await new Promise<void>((resolve, reject) => {
        for (; sent < due; sent++) {
          udp.send(packets[sent]!, (err) => {
            if (err) reject(err);
            else if (--pending === 0) resolve();
          });
        }
      });
    }
    if (sent < packets.length) await sleep(10);
  }
  return (performance.now() - t0) / 1000;
}

interface Stats {
  subscriptions?: Array<{ key: string }>;
}

/** The stats' key count once it has not changed for 1 s (at most 20 s). */
async function settledKeyCount(
  statsPort: number,
  prefix: string,
): Promise<{ known: number; seconds: number }> {
  const t0 = performance.now();
  const count = async () => {
    const s = await readStatsJson<Stats>(statsPort, 20000);
    let n = 0;
    for (const p of s.subscriptions ?? []) if (p.key.endsWith(prefix)) n++;
    return n;
  };
  let last = await count();
  let stableSince = performance.now();
  while (performance.now() - t0 < 20000) {
    await sleep(250);
    const now = await count();
    if (now !== last) {
      last = now;
      stableSince = performance.now();
    } else if (performance.now() - stableSince >= 1000) break;
  }
  return { known: last, seconds: (performance.now() - t0) / 1000 };
}

async function startIntakeRouter(ctx: BenchContext, role: IntakeRole) {
  const [port, subPort, statsPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const args = [
    '--fastrouter',
    `127.0.0.1:${port}`,
    '--fastrouter-subscription-server',
    `127.0.0.1:${subPort}`,
    '--fastrouter-stats',
    `127.0.0.1:${statsPort}`,
  ];
  const router: ServerHandle =
    role === 'uwsgi'
      ? await startUwsgiRouter('fastrouter', args)
      : await ctx.uwrouter(args, { readyPattern: /subscription server bound on/ });
  return { router, subPort, statsPort };
}

async function intakeOnce(
  ctx: BenchContext,
  role: IntakeRole,
  rate: number,
  round: number,
): Promise<IntakeRun> {
  const run: IntakeRun = { role, rate, round, sent: 0, sendSeconds: 0, known: 0, settleSeconds: 0 };
  const suffix = `.r${round}.n${rate}.intake.test`;
  const packets = Array.from({ length: rate }, (_, i) => announcement(`k${i}${suffix}`, i));
  let router: ServerHandle | undefined;
  const udp = createSocket('udp4');
  try {
    const started = await startIntakeRouter(ctx, role);
    router = started.router;
    await new Promise<void>((r) => udp.connect(started.subPort, '127.0.0.1', r));
    run.sendSeconds = await sendOverOneSecond(udp, packets);
    run.sent = packets.length;
    const s = await settledKeyCount(started.statsPort, suffix);
    run.known = s.known;
    run.settleSeconds = s.seconds;
    if (!router.isRunning()) run.failure = 'the router exited';
  } catch (err) {
    run.failure = (err as Error).message.split('\n')[0];
  } finally {
    udp.close();
    await router?.stop();
  }
  return run;
}

/** Bursts of new keys at each rate, uwrouter and uWSGI in turn, measured alone after the rounds. */
export function intakeSection(
  ctx: BenchContext,
  opts: { rates: readonly number[]; rounds: number },
): Section {
  const runs: IntakeRun[] = [];
  const items: Array<{ label: string; failure?: string }> = [];
  const knownShare = (role: IntakeRole, rate: number) =>
    median(runs.filter((r) => r.role === role && r.rate === rate && !r.failure).map((r) => r.known / r.sent));
  /** the highest rate whose every key was known (median of the rounds); 0 when none */
  const noDropRate = (role: IntakeRole) =>
    Math.max(0, ...opts.rates.filter((rate) => knownShare(role, rate) === 1));
  const roles: IntakeRole[] = ['uwrouter', 'uwsgi'];
  return {
    id: 'subscription-intake',
    async run() {
      for (let round = 1; round <= opts.rounds; round++) {
        for (const rate of opts.rates) {
          for (const role of round % 2 === 1 ? roles : [...roles].reverse()) {
            const r = await intakeOnce(ctx, role, rate, round);
            runs.push(r);
            if (r.failure) items.push({ label: `${LABEL[role]}, ${rate} keys`, failure: r.failure });
            log(
              `intake round ${round} ${LABEL[role]}: ${fmt(r.sent)} keys sent in ${fmt(r.sendSeconds, 2)} s, ` +
                `${fmt(r.known)} known (${fmt(percent(r.known / Math.max(1, r.sent)), 2)}%) (${loadLabel()})`,
            );
          }
        }
      }
    },
    print() {
      console.log(
        `\n### subscription intake\n\nR announcements of R new keys sent over 1 s to a fresh router's subscription server; keys known once its stats settle (median of ${opts.rounds}).\n`,
      );
      console.log(
        markdownTable(
          ['router', ...opts.rates.map((r) => `${fmt(r)} keys in 1 s`), 'keys/s with no drop'],
          roles.map((role) => [
            LABEL[role],
            ...opts.rates.map((rate) => `${fmt(percent(knownShare(role, rate)), 2)}% known`),
            fmt(noDropRate(role)),
          ]),
        ),
      );
    },
    comparisons() {
      const out: Comparison[] = [];
      const top = Math.max(...opts.rates);
      if (!runs.some((r) => !r.failure)) return out;
      out.push({
        id: 'intake-top',
        path: `subscription intake, ${fmt(top)} new keys announced in 1 s`,
        unit: '% known',
        higherIsBetter: true,
        ours: { label: LABEL.uwrouter, value: percent(knownShare('uwrouter', top)) },
        peer: { label: LABEL.uwsgi, value: percent(knownShare('uwsgi', top)) },
      });
      out.push({
        path: `subscription intake, new keys/s with no drop (of ${opts.rates.map((r) => fmt(r)).join(', ')})`,
        unit: 'keys/s',
        higherIsBetter: true,
        ours: { label: LABEL.uwrouter, value: noDropRate('uwrouter') },
        peer: { label: LABEL.uwsgi, value: noDropRate('uwsgi') },
      });
      return out;
    },
    items: () => items,
    json: () => runs,
  };
}

if (import.meta.main)
  await runWrkBenchMain(
    'subscription intake bench',
    (ctx, opt) => ({
      sections: [
        intakeSection(ctx, {
          rates: opt.extra.rates!.split(',').map(Number),
          rounds: Math.min(opt.rounds, 3),
        }),
      ],
    }),
    { rates: '10000,50000,100000' },
  );
