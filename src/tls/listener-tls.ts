/**
 * The TLS side of one listening socket (`--https`, `--sslrouter`, …): its own certificate
 * (the default), its session id context, and the SNI registry it consults first.
 * `contextFor(hello)` picks synchronously from the parsed ClientHello, so a resumed TLS 1.2
 * session (where Node reports `servername === false`) still gets its name's certificate.
 * spec: ssl-sni-sessions.md §1, §3; http-router.md §9
 */
import type { SecureContext } from 'node:tls';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { ClientHello } from '../protocol/tls-client-hello.ts';
import { buildSecureContext } from './build-secure-context.ts';
import { type CertificateMaterial, filesStamp, loadCertificateMaterial } from './certificate-material.ts';
import { type TlsContextChoice, tlsLog } from './sni-entry.ts';
import type { SniRegistry } from './sni-registry.ts';
import type { TlsListenerSpec } from './tls-option-specs.ts';
import type { TlsSettings } from './tls-settings.ts';

/** uWSGI's default session id context: `http-ADDR` / `sslrouter-ADDR` (spec §1). */
export function defaultSessionIdContext(router: 'http' | 'sslrouter', address: string): string {
  return `${router}-${address}`;
}

export interface ListenerTlsOptions {
  settings: TlsSettings;
  /** null: this listener serves only its own certificate */
  registry: SniRegistry | null;
  /** `--https-session-context` / `--sslrouter-session-context`, else defaultSessionIdContext */
  sessionIdContext: string;
  log: Logger;
  now?: () => number;
}

export class ListenerTls {
  readonly spec: TlsListenerSpec;
  readonly sessionIdContext: string;
  private readonly options: ListenerTlsOptions;
  private material: CertificateMaterial;
  private defaultChoice: TlsContextChoice;

  private constructor(
    spec: TlsListenerSpec,
    material: CertificateMaterial,
    context: SecureContext,
    options: ListenerTlsOptions,
  ) {
    this.spec = spec;
    this.options = options;
    this.sessionIdContext = options.sessionIdContext;
    this.material = material;
    this.defaultChoice = this.choiceFor(context);
  }

  /**
   * Loads and builds the listener's certificate now: an unreadable file, a certificate that
   * is not one, a key that does not match, an expired certificate or a context OpenSSL
   * refuses is a start-up error naming the file.
   */
  static create(spec: TlsListenerSpec, options: ListenerTlsOptions): ListenerTls {
    const what = `--${spec.option} ${spec.address}`;
    const r = loadCertificateMaterial(spec.certificate, (options.now ?? Date.now)());
    if (!r.ok) throw new ConfigError(`${what}: ${r.file}: ${r.reason}`);
    let context: SecureContext;
    try {
      context = buildSecureContext(r.material, options.settings, options.sessionIdContext);
    } catch (e) {
      throw new ConfigError(
        `${what}: OpenSSL refuses this certificate or cipher list: ${(e as Error).message}`,
      );
    }
    return new ListenerTls(spec, r.material, context, options);
  }

  private choiceFor(context: SecureContext): TlsContextChoice {
    return {
      context,
      source: 'listener',
      name: this.spec.address,
      clientCert: this.spec.certificate.clientCert,
      verifyDepth: this.options.settings.verifyDepth,
    };
  }

  /** The context for this hello: its server name's certificate, else the listener's own. */
  contextFor(hello: ClientHello | null): TlsContextChoice {
    if (hello !== null && this.options.registry !== null) {
      const choice = this.options.registry.lookup(hello.serverName);
      if (choice !== null) return choice;
    }
    return this.defaultChoice;
  }

  /**
   * SIGHUP: re-reads the listener's files; a changed, valid certificate replaces the
   * context (new handshakes get it, running ones keep theirs); a broken one is logged and
   * the previous certificate stays in service. Returns whether it was replaced.
   */
  reload(): boolean {
    if (filesStamp(this.spec.certificate) === this.material.stamp) return false;
    const { settings, log } = this.options;
    const r = loadCertificateMaterial(this.spec.certificate, (this.options.now ?? Date.now)());
    if (!r.ok) {
      tlsLog.failed(log, this.spec.address, r.file, r.reason);
      return false;
    }
    try {
      this.defaultChoice = this.choiceFor(buildSecureContext(r.material, settings, this.sessionIdContext));
    } catch (e) {
      tlsLog.failed(log, this.spec.address, '(OpenSSL)', (e as Error).message);
      return false;
    }
    this.material = r.material;
    tlsLog.replaced(log, this.spec.address, 'certificate changed on disk');
    return true;
  }
}
