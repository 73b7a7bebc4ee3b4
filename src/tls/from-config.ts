/**
 * Everything TLS from the parsed options, checked at start-up: the settings, the one
 * context store, the SNI registry (static items loaded and built now, so a broken
 * certificate is a start-up error naming its file), how sessions resume (ticket keys read
 * now; the session cache is bound by start.ts, which owns the caches), and the listeners'
 * TLS sides. spec: ssl-sni-sessions.md §1–5, http-router.md §9
 */
import { statSync } from 'node:fs';
import type { Config } from '../config/config.ts';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import {
  buildSecureContext,
  DEFAULT_SESSION_ID_CONTEXT,
  estimatedContextBytes,
} from './build-secure-context.ts';
import { ListenerTls } from './listener-tls.ts';
import { TlsResumption } from './resumption.ts';
import { SecureContextStore } from './secure-context-store.ts';
import { SniRegistry } from './sni-registry.ts';
import { TicketKeys } from './ticket-keys.ts';
import { parseSniItem, parseTlsListen, parseTlsListen2 } from './tls-option-specs.ts';
import { DEFAULT_TLS_SETTINGS, type TlsSettings } from './tls-settings.ts';

export interface TlsRuntime {
  settings: TlsSettings;
  store: SecureContextStore;
  registry: SniRegistry;
  /** ticket keys and the TLS 1.2 session cache */
  resumption: TlsResumption;
}

/**
 * `--ssl-ticket-keys FILE` read and checked now (a start-up error names the file), or null.
 * Logged: a file others can read, and a rotation so short that tickets die before
 * `--ssl-sessions-timeout`.
 */
export function ticketKeysFromConfig(
  config: Config,
  settings: TlsSettings,
  log: Logger,
  now: () => number = Date.now,
): TicketKeys | null {
  const file = config.str('ssl-ticket-keys');
  if (file === undefined || file === '') return null;
  const rotationSeconds = config.int('ssl-ticket-keys-rotation');
  const { keys, warning } = TicketKeys.fromFile(file, { rotationSeconds, now });
  if (warning !== undefined) log.warn(`[uwrouter] WARNING: ${warning}`);
  // a ticket made at the end of a period is accepted for two more periods (ticket-keys.ts)
  if (2 * rotationSeconds < settings.sessionTimeout) {
    log.warn(
      `[uwrouter] --ssl-ticket-keys-rotation ${rotationSeconds}: a ticket is accepted for 2 to 3 periods (${2 * rotationSeconds}–${3 * rotationSeconds} s), less than --ssl-sessions-timeout ${settings.sessionTimeout}: older tickets get a full handshake`,
    );
  }
  return keys;
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
  const resumption = new TlsResumption(ticketKeysFromConfig(config, settings, log, now));
  const store = new SecureContextStore({
    maxContexts: settings.maxContexts,
    maxBytes: settings.maxContextBytes,
    build: (m, sid, variant) => buildSecureContext(m, settings, sid, resumption.buildOf(variant)),
    isLive: resumption.live,
    currentVariant: () => resumption.variantFor(null),
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
  return { settings, store, registry, resumption };
}

/**
 * The TLS sides of a router's listeners, in option order: `--https` then `--https2` (or
 * `--sslrouter` then `--sslrouter2`), each loaded and built now. The session id context is
 * `--https-session-context` / `--sslrouter-session-context`, else one constant on every node
 * (uWSGI's `ROUTER-ADDR` would keep nodes on other addresses from resuming each other's).
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
      sessionIdContext: sessionContext || DEFAULT_SESSION_ID_CONTEXT,
      resumption: runtime.resumption,
      log,
      now,
    }),
  );
}
