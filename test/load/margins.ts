/**
 * Bounds of the load lane (test/load/*.load.test.ts): latency and memory figures measured
 * on the 2-core shared test machine, each with the reason for its value. They are margins
 * over what was measured, not targets: a test here fails when the router degrades by far
 * more than machine noise, which is why they do not belong in the functional suites.
 */

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
