/**
 * REQUEST_URI → PATH_INFO exactly as uWSGI's HTTP router does it (spec: http-router.md §3):
 * one pass over the path (up to `?`), stopping at `#`, decoding `%XY` (`%%` → `%`, a bad
 * hex digit → byte 0x00, a dangling `%`/`%X` at the end is dropped), `+` kept, dot
 * segments removed on the fly (never above the root, `//` kept). Decoding happens in the
 * same pass, so `%2e%2e` is not a dot segment. Input and output are latin1 strings.
 */

const ZERO = 0;
const PERCENT1 = 1;
const PERCENT2 = 2;
const SLASH = 3;
const DOT = 4;
const DOTDOT = 5;

const CH_SLASH = 47;
const CH_DOT = 46;
const CH_PERCENT = 37;
const CH_HASH = 35;

/** output never grows beyond input + 1; reused between calls (single-threaded) */
let scratch = Buffer.allocUnsafe(4096);

function hexNibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** `%XY` with either digit invalid → 0 (uWSGI's hex2num gives up on the whole byte). */
function hexByte(a: number, b: number): number {
  const hi = hexNibble(a);
  const lo = hexNibble(b);
  return hi < 0 || lo < 0 ? 0 : (hi << 4) | lo;
}

/** Length of the path part of a request URI: up to the first `?` (or the whole URI). */
export function pathLength(uri: string): number {
  const q = uri.indexOf('?');
  return q < 0 ? uri.length : q;
}

/**
 * Decodes `uri[0, end)` (default: up to the first `?`) into PATH_INFO.
 * The state machine mirrors uWSGI's so every odd input gives the same bytes.
 */
export function decodePathInfo(uri: string, end = -1): string {
  const len = end < 0 ? pathLength(uri) : end;
  if (scratch.length < len + 2) scratch = Buffer.allocUnsafe(len + 2);
  const out = scratch;
  let n = 0;
  let status = ZERO;
  let pending = 0;
  // a relative path starts as if it followed a slash, without emitting that slash
  const noSlash = len > 0 && uri.charCodeAt(0) !== CH_SLASH;
  if (noSlash) status = SLASH;

  for (let i = 0; i < len; i++) {
    const c = uri.charCodeAt(i) & 0xff;
    if (c === CH_HASH) break;
    switch (status) {
      case ZERO:
        if (c === CH_PERCENT) status = PERCENT1;
        else if (c === CH_SLASH) status = SLASH;
        else out[n++] = c;
        break;
      case PERCENT1:
        if (c === CH_PERCENT) {
          out[n++] = CH_PERCENT;
          status = ZERO;
        } else {
          pending = c;
          status = PERCENT2;
        }
        break;
      case PERCENT2:
        out[n++] = hexByte(pending, c);
        status = ZERO;
        break;
      case SLASH:
        if (c === CH_DOT) {
          status = DOT;
          break;
        }
        if (i > 0 || !noSlash) out[n++] = CH_SLASH;
        if (c === CH_PERCENT) status = PERCENT1;
        else if (c === CH_SLASH) status = SLASH;
        else {
          out[n++] = c;
          status = ZERO;
        }
        break;
      case DOT:
        if (c === CH_DOT) {
          status = DOTDOT;
          break;
        }
        if (c === CH_SLASH) {
          status = SLASH; // `/./` collapses
          break;
        }
        if (i > 1) out[n++] = CH_SLASH;
        out[n++] = CH_DOT;
        if (c === CH_PERCENT) status = PERCENT1;
        else {
          out[n++] = c;
          status = ZERO;
        }
        break;
      default: // DOTDOT
        if (c === CH_SLASH) {
          // `/../`: drop the previous segment together with its slash
          while (n > 0) {
            n--;
            if (out[n] === CH_SLASH) break;
          }
          status = SLASH;
          break;
        }
        if (i > 2) out[n++] = CH_SLASH;
        out[n++] = CH_DOT;
        out[n++] = CH_DOT;
        if (c === CH_PERCENT) status = PERCENT1;
        else {
          out[n++] = c;
          status = ZERO;
        }
        break;
    }
  }

  if (status === SLASH || status === DOT) {
    out[n++] = CH_SLASH;
  } else if (status === DOTDOT) {
    // trailing `/..`: keep everything up to and including the previous slash
    while (n > 0 && out[n - 1] !== CH_SLASH) n--;
  }
  return out.toString('latin1', 0, n);
}
