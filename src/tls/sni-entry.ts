/**
 * One certificate the SNI lookup can answer with (a static `--sni`/`--sni-regexp` item, a
 * subscription's `sni_crt`/`sni_key`, an `--sni-dir` file pair), the choice a lookup
 * returns, and the log lines of their life. spec: ssl-sni-sessions.md §3–4
 */
import type { SecureContext } from 'node:tls';
import type { Logger } from '../logger.ts';
import {
  type CertificateMaterial,
  type CertificateSpec,
  type ClientCertPolicy,
  filesStamp,
  loadCertificateMaterial,
} from './certificate-material.ts';
import type { SecureContextStore } from './secure-context-store.ts';

export type ContextSource = 'listener' | 'sni' | 'sni-regexp' | 'subscription' | 'sni-dir';

/** What a handshake is served with, and how the client's certificate is treated. */
export interface TlsContextChoice {
  context: SecureContext;
  source: ContextSource;
  /** the name, pattern or listener address that matched */
  name: string;
  clientCert: ClientCertPolicy;
  /** `--ssl-verify-depth` (checked after the handshake, see clientCertificateVerdict) */
  verifyDepth: number;
}

export interface SniEntry {
  readonly source: ContextSource;
  /** the SNI name (also the session id context, as in uWSGI) or the regexp source */
  readonly name: string;
  spec: CertificateSpec;
  /** null: the files could not be loaded; the entry then answers nothing */
  material: CertificateMaterial | null;
  /** the current material failed to build: not retried until the material changes */
  buildFailed: boolean;
  /** the files' stamp when last checked (a failed load keeps its stamp so it logs once) */
  stamp: string;
  checkedAt: number;
}

export interface EntryDeps {
  store: SecureContextStore;
  log: Logger;
  now: () => number;
}

const pid = process.pid;

export const tlsLog = {
  added(log: Logger, name: string): void {
    log.info(`[uwsgi-sni for pid ${pid}] added SSL context for ${name}`);
  },
  destroyed(log: Logger, name: string): void {
    log.info(`[uwsgi-sni for pid ${pid}] destroyed SSL context for ${name}`);
  },
  replaced(log: Logger, name: string, why: string): void {
    log.info(`[uwsgi-sni for pid ${pid}] replaced SSL context for ${name} (${why})`);
  },
  failed(log: Logger, label: string, file: string, reason: string): void {
    log.error(
      { code: 'UWR_ERR_TLS_CONTEXT', file },
      `[uwsgi-ssl] DANGER unable to initialize context for "${label}": ${file}: ${reason}`,
    );
  },
};

/** A new entry, its files read now; a failed load is logged and leaves material null. */
export function loadEntry(
  source: ContextSource,
  name: string,
  spec: CertificateSpec,
  deps: EntryDeps,
): SniEntry {
  const now = deps.now();
  const r = loadCertificateMaterial(spec, now);
  const entry: SniEntry = {
    source,
    name,
    spec,
    material: r.ok ? r.material : null,
    buildFailed: false,
    stamp: r.ok ? r.material.stamp : filesStamp(spec),
    checkedAt: now,
  };
  if (!r.ok) tlsLog.failed(deps.log, name, r.file, r.reason);
  return entry;
}

/**
 * The entry's context for `variant` (resumption.ts; built now if the store does not hold it);
 * null when it has none.
 */
export function entryContext(entry: SniEntry, deps: EntryDeps, variant?: number): SecureContext | null {
  if (entry.material === null || entry.buildFailed) return null;
  try {
    return deps.store.get(entry.material, entry.name, variant);
  } catch (e) {
    entry.buildFailed = true;
    tlsLog.failed(deps.log, entry.name, '(OpenSSL)', (e as Error).message);
    return null;
  }
}

/**
 * Re-reads the entry's files when they changed on disk (checked at most every `recheckMs`
 * unless forced). New good material replaces the old (whose context is dropped); a bad
 * change is logged once and the old certificate stays in service.
 */
export function refreshEntry(entry: SniEntry, deps: EntryDeps, recheckMs: number): void {
  const now = deps.now();
  if (now - entry.checkedAt < recheckMs) return;
  entry.checkedAt = now;
  const stamp = filesStamp(entry.spec);
  if (stamp === entry.stamp) return;
  entry.stamp = stamp; // a bad change is then logged once, not at every check
  replaceSpec(entry, entry.spec, deps, 'certificate changed on disk');
}

/** Loads `spec` into the entry; on failure logs and keeps what the entry had. */
export function replaceSpec(entry: SniEntry, spec: CertificateSpec, deps: EntryDeps, why: string): boolean {
  const r = loadCertificateMaterial(spec, deps.now());
  if (!r.ok) {
    tlsLog.failed(deps.log, entry.name, r.file, r.reason);
    return false;
  }
  const old = entry.material;
  entry.spec = spec;
  entry.material = r.material;
  entry.stamp = r.material.stamp;
  entry.buildFailed = false;
  if (old) {
    deps.store.forget(old);
    tlsLog.replaced(deps.log, entry.name, why);
  } else {
    tlsLog.added(deps.log, entry.name);
  }
  return true;
}

/** Drops the entry's context from the store (the entry is going away). */
export function releaseEntry(entry: SniEntry, deps: EntryDeps): void {
  if (entry.material) deps.store.forget(entry.material);
  entry.material = null;
}
