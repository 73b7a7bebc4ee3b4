/**
 * Every time and memory bound of the load lane (test/load/*.load.test.ts, `npm run test:load`),
 * in one place. Each bound is a margin over what the scenario costs on the 2-core CI/dev
 * machine with other work running, wide enough not to flake there and narrow enough to catch
 * a real regression (a per-connection timer storm, an unbounded buffer, a blocked loop).
 * Functional assertions of the same scenarios stay in the main lane.
 *
 * To add one: a named constant under a heading for its scenario, a comment saying what it
 * bounds and why that value, then import it in the load test.
 */

// ---- session-slow: 200 slowloris connections against the HTTP router (test/http-router/slowloris.ts)

/**
 * Slowest of 50 sequential normal requests while 200 connections trickle their heads.
 * Alone one takes ~1–5 ms; 500 ms means the trickle (200 tiny writes every 250 ms) stalled
 * the loop or normal clients queue behind slow ones.
 */
export const SLOWLORIS_NORMAL_REQUEST_MAX_MS = 500;

/**
 * How late after `--http-headers-timeout` the last slow head may be closed (ms past the
 * deadline, counted from before the first connect). The deadline is a timer per head, so
 * the 200 fire together; 1500 ms covers accept spread and a loaded machine, while a deadline
 * that slipped by a sweep period or was re-armed by the trickle would exceed it.
 */
export const SLOWLORIS_DEADLINE_LATE_MAX_MS = 1500;

// ---- subscription-flood: 100k bad datagrams at a signed subscription server (test/interop/subscription-flood.ts)

/**
 * Growth of the router's RSS over the flood: the larger VmRSS of half-way and the end, minus
 * VmRSS before. Observed ~45 MiB (V8 young generation and heap growth under 100k short-lived
 * Buffers, not retained); 150 MiB leaves room for GC timing on a loaded machine, while
 * anything kept per bad datagram (~1.5 KiB or more each, 100k of them) exceeds it.
 */
export const SUBSCRIPTION_FLOOD_RSS_GROWTH_MAX_BYTES = 150 * 1024 * 1024;
