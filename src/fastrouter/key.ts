/**
 * The fastrouter's routing key (spec: uwsgi-protocol.md §7 step 2):
 * UWSGI_FASTROUTER_KEY > HTTP_HOST > SERVER_NAME whatever their order; values over 255
 * bytes are ignored. REMOTE_ADDR/REMOTE_PORT replace the client address in log lines.
 * A byte scan over the vars block: no allocation but the key string itself.
 * A key taken from HTTP_HOST or SERVER_NAME is a host name: normalised as the HTTP router's
 * Host and subscription keys are (A-Z folded, trailing dot dropped: host-key.ts), where uWSGI
 * compares bytes; an explicit UWSGI_FASTROUTER_KEY is the operator's own and kept as sent.
 */
import { normalizeHostKey } from '../protocol/host-key.ts';
import { UWSGI_HEADER_SIZE, walkVars } from '../protocol/uwsgi.ts';

export const MAX_KEY_LENGTH = 255;

export interface FastrouterKey {
  key: string | null;
  remoteAddr: string | null;
  remotePort: string | null;
  /** the vars block was malformed after the entries used */
  malformed: boolean;
  /** CONTENT_LENGTH when asked for and all digits (uWSGI reads it only with post-buffering), else -1 */
  contentLength: number;
}

const FASTROUTER_KEY = Buffer.from('UWSGI_FASTROUTER_KEY');
const HTTP_HOST = Buffer.from('HTTP_HOST');
const SERVER_NAME = Buffer.from('SERVER_NAME');
const REMOTE_ADDR = Buffer.from('REMOTE_ADDR');
const REMOTE_PORT = Buffer.from('REMOTE_PORT');
const CONTENT_LENGTH = Buffer.from('CONTENT_LENGTH');

/** A decimal CONTENT_LENGTH value (at most 15 digits), or -1. */
function decimal(b: Buffer, s: number, e: number): number {
  if (e === s || e - s > 15) return -1;
  let n = 0;
  for (let i = s; i < e; i++) {
    const d = b[i] - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function is(buf: Buffer, start: number, end: number, name: Buffer): boolean {
  if (end - start !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (buf[start + i] !== name[i]) return false;
  return true;
}

const FROM_NONE = 0;
const FROM_SERVER_NAME = 1;
const FROM_HTTP_HOST = 2;
const FROM_FASTROUTER_KEY = 3;

/** Reads the key (and, with `withLength`, CONTENT_LENGTH) from a complete head (4-byte header + vars block). */
export function readFastrouterKey(head: Buffer, withLength = false): FastrouterKey {
  let from = FROM_NONE;
  let ks = 0;
  let ke = 0;
  let remoteAddr: string | null = null;
  let remotePort: string | null = null;
  let contentLength = -1;
  const r = walkVars(head, UWSGI_HEADER_SIZE, head.length, (b, s, e, vs, ve) => {
    const len = ve - vs;
    if (is(b, s, e, FASTROUTER_KEY)) {
      if (len <= MAX_KEY_LENGTH) {
        from = FROM_FASTROUTER_KEY;
        ks = vs;
        ke = ve;
      }
    } else if (is(b, s, e, HTTP_HOST)) {
      if (len <= MAX_KEY_LENGTH && from < FROM_FASTROUTER_KEY) {
        from = FROM_HTTP_HOST;
        ks = vs;
        ke = ve;
      }
    } else if (is(b, s, e, SERVER_NAME)) {
      if (len <= MAX_KEY_LENGTH && from === FROM_NONE) {
        from = FROM_SERVER_NAME;
        ks = vs;
        ke = ve;
      }
    } else if (is(b, s, e, REMOTE_ADDR)) {
      remoteAddr = b.toString('latin1', vs, ve);
    } else if (is(b, s, e, REMOTE_PORT)) {
      remotePort = b.toString('latin1', vs, ve);
    } else if (withLength && is(b, s, e, CONTENT_LENGTH)) {
      contentLength = decimal(b, vs, ve);
    }
    return true;
  });
  const raw = from === FROM_NONE ? null : head.toString('latin1', ks, ke);
  return {
    key: raw === null || from === FROM_FASTROUTER_KEY ? raw : normalizeHostKey(raw),
    remoteAddr,
    remotePort,
    malformed: r !== true,
    contentLength,
  };
}
