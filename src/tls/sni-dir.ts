/**
 * `--sni-dir DIR`: for a server name NAME with no other match, the certificate in
 * DIR/NAME.crt + DIR/NAME.key (client CA DIR/NAME.ca if present, asked for but optional;
 * ciphers `--sni-dir-ciphers`). spec: ssl-sni-sessions.md §3 step 4
 *
 * Beyond uWSGI (which keeps the first context of a name forever and stats two files on
 * every unknown name):
 * - DIR/NAME.ecdsa.crt + DIR/NAME.ecdsa.key, when present, are served beside the RSA pair
 *   (the client's capabilities pick one);
 * - a name's files are checked for changes at most every `recheckMs` while it is used, and
 *   changed files replace the context; removed files remove it;
 * - loaded names are bounded (LRU, `maxContexts`), and names without files are remembered
 *   for `recheckMs` (bounded too), so a flood of unknown names costs one stat each at most.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { CertificateSpec, PemSource } from './certificate-material.ts';
import { type EntryDeps, loadEntry, refreshEntry, releaseEntry, type SniEntry, tlsLog } from './sni-entry.ts';

const MAX_NEGATIVE = 10_000;

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

/**
 * Only a host name may become a file name (the ClientHello reader already guarantees it;
 * this guards other callers): no `/`, `\`, NUL, no leading dot, no `..`.
 */
function safeName(name: string): boolean {
  if (name === '' || name.length > 255 || name[0] === '.') return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 47 || c === 92 || c === 0 || (c === 46 && name.charCodeAt(i + 1) === 46)) return false;
  }
  return true;
}

export class SniDirContexts {
  readonly dir: string;
  private readonly deps: EntryDeps;
  private readonly ciphers: string | undefined;
  private readonly recheckMs: number;
  private readonly maxEntries: number;
  /** recency order: a lookup re-inserts, the first key is the coldest */
  private readonly entries = new Map<string, SniEntry>();
  /** names found without files (or with bad ones) → when */
  private readonly negative = new Map<string, number>();

  constructor(
    dir: string,
    options: { ciphers: string | undefined; recheckMs: number; maxEntries: number },
    deps: EntryDeps,
  ) {
    this.dir = dir;
    this.deps = deps;
    this.ciphers = options.ciphers;
    this.recheckMs = options.recheckMs;
    this.maxEntries = Math.max(1, options.maxEntries);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The entry for `name`, loading DIR/NAME.* the first time; null when there is none. */
  lookup(name: string): SniEntry | null {
    const known = this.entries.get(name);
    if (known) return this.recheck(name, known);
    const missAt = this.negative.get(name);
    if (missAt !== undefined) {
      if (this.deps.now() - missAt < this.recheckMs) return null;
      this.negative.delete(name);
    }
    if (!safeName(name)) return null;
    const spec = this.specFor(name);
    if (spec === null) return this.miss(name);
    const entry = loadEntry('sni-dir', name, spec, this.deps);
    if (entry.material === null) return this.miss(name);
    tlsLog.added(this.deps.log, name);
    this.entries.set(name, entry);
    if (this.entries.size > this.maxEntries) {
      const [oldName, old] = this.entries.entries().next().value as [string, SniEntry];
      this.entries.delete(oldName);
      releaseEntry(old, this.deps);
    }
    return entry;
  }

  /** Files of NAME as a spec, or null when NAME.crt or NAME.key is missing. */
  private specFor(name: string): CertificateSpec | null {
    const base = join(this.dir, name);
    if (!isFile(`${base}.crt`) || !isFile(`${base}.key`)) return null;
    const file = (path: string): PemSource => ({ kind: 'file', path });
    const pairs = [{ cert: file(`${base}.crt`), key: file(`${base}.key`) }];
    if (isFile(`${base}.ecdsa.crt`) && isFile(`${base}.ecdsa.key`)) {
      pairs.push({ cert: file(`${base}.ecdsa.crt`), key: file(`${base}.ecdsa.key`) });
    }
    const ca = isFile(`${base}.ca`);
    return {
      label: name,
      pairs,
      ciphers: this.ciphers,
      clientCa: ca ? file(`${base}.ca`) : undefined,
      clientCert: ca ? 'optional' : 'none',
    };
  }

  private recheck(name: string, entry: SniEntry): SniEntry | null {
    this.entries.delete(name);
    if (this.deps.now() - entry.checkedAt >= this.recheckMs) {
      const spec = this.specFor(name);
      if (spec === null) {
        // the files were removed: so is the context
        releaseEntry(entry, this.deps);
        tlsLog.destroyed(this.deps.log, name);
        return this.miss(name);
      }
      // an ECDSA pair or a CA that appeared or went away is a change of spec
      if (
        spec.pairs.length !== entry.spec.pairs.length ||
        (spec.clientCa === undefined) !== (entry.spec.clientCa === undefined)
      ) {
        entry.spec = spec;
        entry.stamp = '';
      }
      refreshEntry(entry, this.deps, this.recheckMs);
    }
    this.entries.set(name, entry);
    return entry;
  }

  private miss(name: string): null {
    if (this.negative.size >= MAX_NEGATIVE) {
      const oldest = this.negative.keys().next().value as string;
      this.negative.delete(oldest);
    }
    this.negative.set(name, this.deps.now());
    return null;
  }
}
