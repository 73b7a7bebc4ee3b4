/**
 * TLS: the one place that builds and owns secure contexts (DESIGN.md `src/tls/`).
 * Routers use tlsRuntimeFromConfig + tlsListenersFromConfig at start-up, then one TlsFront
 * per listener: `front.accept(socket)` runs ClientHelloReader (src/protocol) →
 * ListenerTls.contextFor → startServerTls → clientCertificateVerdict, with the handshake
 * deadline, the cap and the counters, and calls the router's `onSecure(tlsSocket, result)`.
 * Sessions resume across processes and nodes through shared ticket keys (ticket-keys.ts) and
 * TLS 1.2 session ids in a cache (session-id-cache.ts), chosen per hello (resumption.ts).
 */
export {
  buildSecureContext,
  DEFAULT_SESSION_ID_CONTEXT,
  estimatedContextBytes,
  sessionIdContextFor,
  sessionIdContextOf,
} from './build-secure-context.ts';
export {
  type CertificateMaterial,
  type CertificateSpec,
  type ClientCertPolicy,
  loadCertificateMaterial,
  type PemSource,
} from './certificate-material.ts';
export {
  type TlsRuntime,
  ticketKeysFromConfig,
  tlsListenersFromConfig,
  tlsRuntimeFromConfig,
  tlsSettingsFromConfig,
} from './from-config.ts';
export { ListenerTls, type ListenerTlsOptions } from './listener-tls.ts';
export { NO_TICKETS, PROCESS_TICKETS, TlsResumption, type VariantBuild } from './resumption.ts';
export { reloadRouterTicketKeys, routerTlsRuntime } from './router-runtime.ts';
export { SecureContextStore, type SecureContextStoreOptions } from './secure-context-store.ts';
export {
  type ClientCertVerdict,
  clientCertificateVerdict,
  type ServerTlsOptions,
  type SessionEventTarget,
  startServerTls,
} from './server-socket.ts';
export {
  MAX_CACHED_SESSION_BYTES,
  TlsSessionIdCache,
  tlsSessionCacheFromConfig,
} from './session-id-cache.ts';
export type { ContextSource, TlsContextChoice } from './sni-entry.ts';
export { SniRegistry, type SniRegistryOptions } from './sni-registry.ts';
export { type SubscriptionSni, subscriptionSniName } from './subscription-contexts.ts';
export { type GuardVerdict, SubscriptionSniGuard } from './subscription-sni-guard.ts';
export {
  deriveTicketKey,
  offersTls13,
  readTicketSecret,
  TicketKeys,
  ticketKeyName,
} from './ticket-keys.ts';
export {
  handshakeFailureReason,
  TlsFront,
  type TlsFrontOptions,
  type TlsHandshakeResult,
  type TlsSecureHandler,
} from './tls-front.ts';
export { LogLineBudget, TlsFrontStats, tlsStatsSection } from './tls-front-stats.ts';
export {
  parseSniItem,
  parseTlsListen,
  parseTlsListen2,
  type SniItemSpec,
  type TlsListenerSpec,
} from './tls-option-specs.ts';
export { DEFAULT_CIPHERS, DEFAULT_TLS_SETTINGS, type TlsSettings } from './tls-settings.ts';
