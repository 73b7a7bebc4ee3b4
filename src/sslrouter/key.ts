/**
 * The sslrouter's routing key (spec: ssl-sni-sessions.md §2, corerouter.md §3): the listening
 * address as configured, exactly as the rawrouter's (its rules for `=N`, `fd://N` and port 0
 * are shared), or with `--sslrouter-sni` the server name the client sent. A client without
 * SNI keeps the address as its key, as in uWSGI. The name is the ClientHello reader's: lower
 * case, no trailing dot, host-name bytes only, at most 255 bytes (uWSGI compares it byte for
 * byte; subscription keys are normalised the same way, so `Example.COM` finds `example.com`).
 */
import type { Listener } from '../corerouter/listener.ts';
import { rawrouterKey } from '../rawrouter/key.ts';

/** The key of connections on `listener` that bring no server name (or without `--sslrouter-sni`). */
export function sslrouterListenerKey(listener: Listener): string {
  return rawrouterKey(listener);
}

export function sslrouterKey(listenerKey: string, serverName: string | null, bySni: boolean): string {
  return bySni && serverName !== null ? serverName : listenerKey;
}
