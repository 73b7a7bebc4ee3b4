/** A registry over real certificates with a fake clock and captured log lines. */
import pino from 'pino';
import type { Logger } from '../../src/logger.ts';
import { buildSecureContext, estimatedContextBytes } from '../../src/tls/build-secure-context.ts';
import type { TlsResumption } from '../../src/tls/resumption.ts';
import { SecureContextStore } from '../../src/tls/secure-context-store.ts';
import { SniRegistry } from '../../src/tls/sni-registry.ts';
import { parseSniItem } from '../../src/tls/tls-option-specs.ts';
import { DEFAULT_TLS_SETTINGS, type TlsSettings } from '../../src/tls/tls-settings.ts';

export function captureLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = pino(
    { level: 'debug', base: undefined, timestamp: false },
    {
      write(s: string) {
        lines.push((JSON.parse(s) as { msg: string }).msg);
      },
    },
  );
  return { log, lines };
}

export interface RegistryHarness {
  registry: SniRegistry;
  store: SecureContextStore;
  lines: string[];
  clock: { t: number };
  log: Logger;
}

export function makeRegistry(
  options: {
    dotsplit?: boolean;
    sniDir?: string;
    settings?: Partial<TlsSettings>;
    sni?: string[];
    sniRegexp?: string[];
    /** builds per ticket-key period or without tickets (default: one build, no sharing) */
    resumption?: TlsResumption;
    clock?: { t: number };
  } = {},
): RegistryHarness {
  const clock = options.clock ?? { t: Date.now() };
  const now = () => clock.t;
  const settings = { ...DEFAULT_TLS_SETTINGS, ...options.settings };
  const { log, lines } = captureLogger();
  const r = options.resumption;
  const store = new SecureContextStore({
    maxContexts: settings.maxContexts,
    maxBytes: settings.maxContextBytes,
    build: (m, sid, variant) => buildSecureContext(m, settings, sid, r?.buildOf(variant)),
    ...(r ? { isLive: r.live, currentVariant: () => r.variantFor(null) } : {}),
    estimate: estimatedContextBytes,
    now,
  });
  const registry = new SniRegistry({
    settings,
    store,
    log,
    dotsplit: options.dotsplit ?? false,
    sniDir: options.sniDir,
    now,
  });
  for (const v of options.sni ?? []) registry.addStatic(parseSniItem('sni', v, settings.inlinePem));
  for (const v of options.sniRegexp ?? [])
    registry.addStatic(parseSniItem('sni-regexp', v, settings.inlinePem));
  return { registry, store, lines, clock, log };
}
