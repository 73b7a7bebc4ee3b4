/**
 * Which TLS runtime (settings, context store, SNI registry) a router made for itself, so
 * the start-up code can bind it to that router's subscription system (subscription
 * certificates, spec: ssl-sni-sessions.md §4) without knowing which router it is.
 */
import type { TlsRuntime } from './from-config.ts';

const RUNTIMES = new WeakMap<object, TlsRuntime>();

/** Called by a router factory that terminates TLS (the sslrouter, the HTTP router with HTTPS listeners). */
export function setRouterTlsRuntime(router: object, runtime: TlsRuntime): void {
  RUNTIMES.set(router, runtime);
}

/** The router's TLS runtime; undefined for a router without TLS listeners. */
export function routerTlsRuntime(router: object): TlsRuntime | undefined {
  return RUNTIMES.get(router);
}
