/**
 * Which TLS runtime (settings, context store, SNI registry) a router made for itself, so
 * the start-up code can bind it to that router's subscription system (subscription
 * certificates, spec: ssl-sni-sessions.md §4) without knowing which router it is.
 */
import type { Logger } from '../logger.ts';
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

/**
 * SIGHUP: every router's `--ssl-ticket-keys` file read again (routers read it each, so
 * each is asked). Other valid bytes replace the keys (tickets made under the old file then
 * get a full handshake); a file that became unreadable or invalid is logged and the keys in
 * service stay. Returns how many routers took new keys.
 */
export function reloadRouterTicketKeys(routers: readonly object[], log: Logger): number {
  let replaced = 0;
  for (const router of routers) {
    const keys = RUNTIMES.get(router)?.resumption.ticketKeys;
    if (!keys) continue;
    const r = keys.reload();
    if (r === 'unchanged') continue;
    if (r === 'replaced') {
      replaced++;
      log.info(
        `[uwrouter] --ssl-ticket-keys ${keys.file}: new keys in service; tickets made under the previous file get a full handshake`,
      );
    } else {
      log.error(
        { code: 'UWR_ERR_CONFIG' },
        `[uwrouter] --ssl-ticket-keys ${keys.file}: not reloaded, the keys in service stay: ${r.error}`,
      );
    }
  }
  return replaced;
}
