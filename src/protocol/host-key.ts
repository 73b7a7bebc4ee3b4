/**
 * Host names as routing keys. uWSGI matches Host, SNI names and subscription keys byte for
 * byte (spec README item 11), so `Example.com` and `example.com.` miss the pool that
 * `example.com` subscribed. Every web server (nginx, HAProxy, Caddy) compares host names
 * case-insensitively and treats the absolute form (trailing dot) as the same name
 * (RFC 9110 §4.2.3, RFC 1034 §3.1): uwrouter normalises every Host-derived key and every
 * subscription key with this one function, so both sides meet.
 *
 * Only ASCII letters are folded (a key is a latin1 byte string; IDNs arrive as punycode),
 * in the whole key (a `:port` suffix is digits, unchanged; a non-numeric one is folded too,
 * so the result never holds A-Z), and one trailing dot of the host part is removed.
 * Pure and allocation-free when the key is already normal (the common case).
 */

/** True when `key` needs no change (no A-Z, no `.` before the port or at the end). */
function isNormal(key: string): boolean {
  let prev = 0;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c >= 65 && c <= 90) return false;
    if (c === 58 /* : */ && prev === 46 /* . */) return false;
    prev = c;
  }
  return prev !== 46;
}

function foldAscii(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c >= 65 && c <= 90 ? String.fromCharCode(c + 32) : s[i];
  }
  return out;
}

/**
 * `Example.COM.:8080` → `example.com:8080`, `WWW.A.COM.` → `www.a.com`. A bracketed IPv6
 * literal keeps its brackets; a key that is only `.` stays `.` (nothing to strip to).
 */
export function normalizeHostKey(key: string): string {
  if (isNormal(key)) return key;
  let host = key;
  let port = '';
  // the port is after the last colon, unless that colon is inside an IPv6 literal
  const colon = key.lastIndexOf(':');
  if (colon > 0 && key.indexOf(']', colon) === -1 && (key[0] !== '[' || key[colon - 1] === ']')) {
    host = key.slice(0, colon);
    port = key.slice(colon);
  }
  if (host.length > 1 && host.charCodeAt(host.length - 1) === 46) host = host.slice(0, -1);
  // the port part is folded too: a real port is digits (unchanged), and a key must never
  // keep an A-Z that the other side of the match would have folded
  return foldAscii(host + port);
}
