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

// ---- http-bad-input and stored bodies (test/load/http-bad-input.load.test.ts, stored-body.load.test.ts)

/**
 * Median latency of a normal request while 300 clients trickle request heads (slowloris).
 * Idle, a request through the router takes ~2 ms here; 100 ms leaves room for a loaded
 * machine while still catching heads being parsed or scanned per trickled byte.
 */
export const SLOWLORIS_NORMAL_MEDIAN_MS = 100;

/** normal requests the slowloris test must complete in its 5 s (one every ~50 ms + latency) */
export const SLOWLORIS_MIN_REQUESTS = 20;

/**
 * Router RSS growth allowed for 300 trickling clients: each holds a socket and a partial
 * head of a few hundred bytes; 40 MiB is far above that (~3–10 MiB measured) but below
 * what buffering growing heads or a timer per byte would cost.
 */
export const SLOWLORIS_RSS_GROWTH_BYTES = 40 * 1024 * 1024;

/**
 * Router RSS growth with 4 × 64 MiB echoed to clients that do not read: buffering the
 * in-flight bytes would show ≥ 256 MiB; read churn alone measured 48–65 MiB (RSS keeps
 * freed malloc memory), so 128 MiB separates the two.
 */
export const SLOW_READERS_RSS_GROWTH_BYTES = 128 * 1024 * 1024;

/**
 * Memory held by 200 stored chunked bodies of 10 000 one-byte chunks each (a framing-heavy
 * upload, 6 wire bytes per payload byte), measured after a full GC. Copying the payload
 * keeps ~16 KiB per body (~3 MiB); keeping a view per chunk would hold ~100 bytes of
 * object per payload byte (~200 MiB). 40 MiB separates the two with room for noise.
 */
export const STORED_BODY_HELD_BYTES = 40 * 1024 * 1024;

// ---- sslrouter-handshakes: 500 half-done TLS handshakes, garbage, a 300-byte name (test/interop/sslrouter-flood.ts)

/**
 * Slowest of 10 normal requests (full TLS handshake + HTTP/1.0 request through the sslrouter
 * to a uWSGI node) while 500 half-done handshakes wait for their deadline. Observed 5–12 ms.
 * The issue asks for "served in under a second": a front that let the crowd block the loop,
 * or queued new handshakes behind it, exceeds it.
 */
export const SSL_HALF_DONE_NORMAL_REQUEST_MAX_MS = 1000;

/**
 * Router RSS growth with the 500 half-done handshakes in place (250 holding a partial hello,
 * 250 a whole hello answered by OpenSSL). Observed ~15.5 MiB (~31 KiB each: socket, TLS
 * state, the reader's buffer). 48 MiB leaves room for GC timing; buffering per connection
 * beyond the bounded hello (or a TLS socket per partial hello) exceeds it.
 */
export const SSL_HALF_DONE_RSS_GROWTH_MAX_BYTES = 48 * 1024 * 1024;

// ---- cache-flood: 100k datagrams at a cache's UDP server (test/interop/cache-flood.ts)

/**
 * Growth of the router's RSS over the flood: the larger VmRSS of half-way and the end, minus
 * VmRSS before. The cache holds at most 999 items of ≤ 512 bytes (~1 MiB); the rest is V8's
 * young generation under 100k short-lived Buffers. 150 MiB, as for the subscription flood,
 * leaves room for GC timing on a loaded machine, while anything kept per datagram (a queue,
 * a map of senders; ≥ 1.5 KiB each over 100k) exceeds it.
 */
export const CACHE_FLOOD_RSS_GROWTH_MAX_BYTES = 150 * 1024 * 1024;

// ---- https-sni-dir: 1,000 names in --sni-dir, each asked for once (test/interop/sni-dir-touch.ts)

/**
 * Router RSS growth once 1,000 --sni-dir names were each served once (a full handshake and a
 * request each) with `--ssl-contexts-max 200`. Observed ~45–50 MiB on the 2-core machine,
 * the same with 1,000 contexts kept: what remains is the allocator's high-water mark from
 * 1,000 handshakes, not the contexts (~27 KiB each). 128 MiB leaves room for GC timing; a
 * leak of ~100 KiB per name (a context or a socket kept per handshake) exceeds it.
 */
export const SNI_DIR_1000_RSS_GROWTH_MAX_BYTES = 128 * 1024 * 1024;
