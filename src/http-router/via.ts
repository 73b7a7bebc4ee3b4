/**
 * Loop detection for the HTTP router (issue: one subscription or `--http-to` naming the
 * router's own listener made one request open connections to itself until the file
 * descriptors ran out). Every request forwarded to an HTTP node carries
 * `Via: 1.1 <token>` (forward-head.ts, RFC 9110 §7.6.3) with a token unique to this
 * router instance; a request whose Via already holds the token has been here before and
 * is answered 508 Loop Detected. A chain longer than `MAX_VIA_HOPS` is refused too
 * (loops through routers that are not uwrouter, or through several uwrouters).
 * Self-connections that carry no Via (uwsgi nodes) are caught by corerouter's
 * OutgoingEndpoints instead.
 */
import { randomBytes } from 'node:crypto';
import type { HttpHeaderField } from '../protocol/http-request-head.ts';

/** more Via entries than this: a loop (or a chain no deployment has) → 508 */
export const MAX_VIA_HOPS = 10;

/** `uwrouter-` + 8 random hex digits: a pseudonym (RFC 9110 §7.6.3), new at every start */
export function makeViaToken(): string {
  return `uwrouter-${randomBytes(4).toString('hex')}`;
}

const OWN_TOKEN = 'Via names this router';
const TOO_MANY_HOPS = `more than ${MAX_VIA_HOPS} Via hops`;

/**
 * Checks the request's Via fields: why it is a loop (one entry's received-by is `token`,
 * or more than MAX_VIA_HOPS entries), else null. Costs a length compare per header when
 * there is no Via (the usual request).
 */
export function viaLoop(headers: readonly HttpHeaderField[], token: string): string | null {
  let hops = 0;
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i];
    if (h.name.length !== 3 || h.name.toLowerCase() !== 'via') continue;
    for (const entry of h.value.split(',')) {
      const e = entry.trim();
      if (e === '') continue;
      hops++;
      // entry = protocol SP received-by [SP comment]
      const sp = e.indexOf(' ');
      if (sp < 0) continue;
      let end = e.indexOf(' ', sp + 1);
      if (end < 0) end = e.length;
      if (e.slice(sp + 1, end) === token) return OWN_TOKEN;
    }
  }
  return hops > MAX_VIA_HOPS ? TOO_MANY_HOPS : null;
}
