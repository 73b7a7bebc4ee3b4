/**
 * Where certificate and key files (certificate-material.ts) and `--ssl-ticket-keys` files
 * (ticket-keys.ts, bytes carried as latin1 text) are read, with the two things a
 * cluster needs (src/cluster/):
 * - the primary reads every static certificate while it checks a configuration, first as
 *   root (before the privilege drop), and records what it read; its workers start as the
 *   dropped user, which may not read root-only keys, so they are given those texts;
 * - after the drop, a reload's check may be refused a file it read at start (EACCES): it
 *   goes on with the text read then, and says so (a renewed certificate behind root-only
 *   permissions needs a restart, as in uWSGI).
 * Outside a cluster nothing is recorded and every read goes to the file.
 */
import { readFileSync } from 'node:fs';

let recording: Map<string, string> | null = null;
/** texts read with root's permissions at the first start (the primary) */
const readAtStart = new Map<string, string>();
let keepForLater = false;
/** files a reload's check could not read and took from `readAtStart` */
const denied = new Set<string>();
/** texts given by the primary (a worker) */
const given = new Map<string, string>();

export type PemRead = { ok: true; text: string } | { ok: false; code: string };

export function readPemFile(path: string): PemRead {
  const pre = given.get(path);
  if (pre !== undefined) return { ok: true, text: pre };
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const code = err.code ?? err.message;
    const earlier = readAtStart.get(path);
    if ((code === 'EACCES' || code === 'EPERM') && earlier !== undefined) {
      denied.add(path);
      recording?.set(path, earlier);
      return { ok: true, text: earlier };
    }
    return { ok: false, code };
  }
  recording?.set(path, text);
  if (keepForLater) readAtStart.set(path, text);
  return { ok: true, text };
}

/**
 * Records every file read until `stop()`: the texts a worker of this configuration is given.
 * `atStart`: the first start (before the drop), whose reads a later denied read falls back to.
 */
export function recordPemReads(atStart: boolean): { stop(): Array<[string, string]>; denied(): string[] } {
  const map = new Map<string, string>();
  recording = map;
  keepForLater = atStart;
  denied.clear();
  return {
    stop(): Array<[string, string]> {
      if (recording === map) recording = null;
      keepForLater = false;
      return [...map];
    },
    denied: () => [...denied],
  };
}

/** The text the primary gave this worker for `path`, if it gave one. */
export function givenPemText(path: string): string | undefined {
  return given.get(path);
}

/** A worker: these texts stand for their files (the primary read them). */
export function usePemTexts(entries: ReadonlyArray<readonly [string, string]>): void {
  for (const [path, text] of entries) given.set(path, text);
}
