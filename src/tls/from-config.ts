/**
 * Everything TLS from the parsed options, checked at start-up: the settings, the one
 * context store, the SNI registry (static items loaded and built now, so a broken
 * certificate is a start-up error naming its file), and the listeners' TLS sides.
 * spec: ssl-sni-sessions.md §1–4, http-router.md §9
 */
import { statSync } from 'node:fs';
import type { Config } from '../config/config.ts';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { buildSecureContext, estimatedContextBytes } from './build-secure-context.ts';
import { defaultSessionIdContext, ListenerTls } from './listener-tls.ts';
import { SecureContextStore } from './secure-context-store.ts';
import { SniRegistry } from './sni-registry.ts';
import { parseSniItem, parseTlsListen, parseTlsListen2 } from './tls-option-specs.ts';
import { DEFAULT_TLS_SETTINGS, type TlsSettings } from './tls-settings.ts';

export interface TlsRuntime {
  settings: TlsSettings;
  store: SecureContextStore;
  registry: SniRegistry;
}

export function tlsSettingsFromConfig(config: Config): TlsSettings {
  const sniDirCiphers = config.str('sni-dir-ciphers');
  return {
    ...DEFAULT_TLS_SETTINGS,
    minVersion: config.flag('ssl-enable-tlsv1') ? 'TLSv1' : 'TLSv1.2',
    sniDirCiphers: sniDirCiphers === '' ? undefined : sniDirCiphers,
    verifyDepth: config.int('ssl-verify-depth'),
    sessionTimeout: config.int('ssl-sessions-timeout'),
    inlinePem: config.has('ssl-tmp-dir'),
    verbose: config.flag('ssl-verbose'),
    handshakeTimeoutMs: config.int('ssl-handshake-timeout') * 1000,
    maxHandshakes: config.int('ssl-max-handshakes'),
    maxContexts: config.int('ssl-contexts-max'),
    maxContextBytes: config.int('ssl-contexts-max-mb') * 1024 * 1024,
    subscriptionsSniDir: config.str('subscriptions-sni-dir') || undefined,
  };
}

/** The store and SNI registry; `--sni` and `--sni-regexp` items are loaded and built now. */
export function tlsRuntimeFromConfig(config: Config, log: Logger, now: () => number = Date.now): TlsRuntime {
  const settings = tlsSettingsFromConfig(config);
  const store = new SecureContextStore({
    maxContexts: settings.maxContexts,
    maxBytes: settings.maxContextBytes,
    build: (m, sid) => buildSecureContext(m, settings, sid),
    estimate: estimatedContextBytes,
    now,
  });
  const sniDir = config.str('sni-dir');
  if (sniDir !== undefined) {
    if (!statSync(sniDir, { throwIfNoEntry: false })?.isDirectory()) {
      throw new ConfigError(`--sni-dir ${sniDir}: not a directory`);
    }
  }
  const registry = new SniRegistry({
    settings,
    store,
    log,
    dotsplit: config.flag('subscription-dotsplit'),
    sniDir,
    now,
  });
  for (const v of config.all('sni')) registry.addStatic(parseSniItem('sni', v, settings.inlinePem));
  for (const v of config.all('sni-regexp'))
    registry.addStatic(parseSniItem('sni-regexp', v, settings.inlinePem));
  return { settings, store, registry };
}

/**
 * The TLS sides of a router's listeners, in option order: `--https` then `--https2` (or
 * `--sslrouter` then `--sslrouter2`), each loaded and built now. The session id context is
 * `--https-session-context` / `--sslrouter-session-context`, else `ROUTER-ADDR` as in uWSGI.
 */
export function tlsListenersFromConfig(
  runtime: TlsRuntime,
  config: Config,
  router: 'http' | 'sslrouter',
  log: Logger,
  now: () => number = Date.now,
): ListenerTls[] {
  const [plain, keyval, sessionOption] =
    router === 'http'
      ? ['https', 'https2', 'https-session-context']
      : ['sslrouter', 'sslrouter2', 'sslrouter-session-context'];
  const sessionContext = config.str(sessionOption);
  const specs = [
    ...config.all(plain).map((v) => parseTlsListen(plain, v, runtime.settings.inlinePem)),
    ...config.all(keyval).map((v) => parseTlsListen2(keyval, v, runtime.settings.inlinePem)),
  ];
  for (const spec of specs) {
    if (spec.spdy) {
      log.warn(
        `[uwrouter] --${spec.option} ${spec.address}: spdy ignored: SPDY is not implemented (clients speak HTTP/1.1 over TLS)`,
      );
    }
  }
  return specs.map((spec) =>
    ListenerTls.create(spec, {
      settings: runtime.settings,
      registry: runtime.registry,
      sessionIdContext: sessionContext || defaultSessionIdContext(router, spec.address),
      log,
      now,
    }),
  );
}
