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
 * Observed: median ~1 ms, slowest ~40–60 ms (when a trickle round lands). 500 ms leaves room
 * for a loaded machine; more means the trickle (200 tiny writes every 250 ms) stalls the
 * loop or normal clients queue behind slow ones.
 */
export const SLOWLORIS_NORMAL_REQUEST_MAX_MS = 500;

/**
 * How long past `--http-headers-timeout` a slow head may stay open, from its own connect to
 * its close. The deadline is a timer per connection armed at accept: observed 1–45 ms late
 * (200 timers and closes at once).
 * 500 ms leaves room for a loaded machine; a deadline that slipped by a sweep period (1 s)
 * or was re-armed by the trickle exceeds it.
 */
export const SLOWLORIS_DEADLINE_LATE_MAX_MS = 500;

// ---- subscription-flood: 100k bad datagrams at a signed subscription server (test/interop/subscription-flood.ts)

/**
 * Growth of the router's RSS over the flood: the larger VmRSS of half-way and the end, minus
 * VmRSS before. Observed ~45 MiB (V8 young generation and heap growth under 100k short-lived
 * Buffers, not retained); 150 MiB leaves room for GC timing on a loaded machine, while
 * anything kept per bad datagram (~1.5 KiB or more each, 100k of them) exceeds it.
 */
export const SUBSCRIPTION_FLOOD_RSS_GROWTH_MAX_BYTES = 150 * 1024 * 1024;
