/**
 * The TLS side of one listening socket (`--https`, `--sslrouter`, …): its own certificate
 * (the default), its session id context, and the SNI registry it consults first.
 * `contextFor(hello)` picks synchronously from the parsed ClientHello, so a resumed TLS 1.2
 * session (where Node reports `servername === false`) still gets its name's certificate,
 * and a ticket gets the build holding its key (resumption.ts).
 * spec: ssl-sni-sessions.md §1, §3; http-router.md §9
 */
import type { SecureContext } from 'node:tls';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { ClientHello } from '../protocol/tls-client-hello.ts';
import { buildSecureContext } from './build-secure-context.ts';
import { type CertificateMaterial, loadCertificateMaterial } from './certificate-material.ts';
import { ContextVariants } from './context-variants.ts';
import { noResumptionSharing, type TlsResumption } from './resumption.ts';
import { freeSecureContextNow } from './secure-context-store.ts';
import type { TlsContextChoice } from './sni-entry.ts';
import type { SniRegistry } from './sni-registry.ts';
import type { TlsListenerSpec } from './tls-option-specs.ts';
import type { TlsSettings } from './tls-settings.ts';

export interface ListenerTlsOptions {
  settings: TlsSettings;
  /** null: this listener serves only its own certificate */
  registry: SniRegistry | null;
  /** `--https-session-context` / `--sslrouter-session-context`, else DEFAULT_SESSION_ID_CONTEXT */
  sessionIdContext: string;
  /** ticket keys and the session cache (default: none, each context its own tickets) */
  resumption?: TlsResumption;
  log: Logger;
  now?: () => number;
}

export class ListenerTls {
  readonly spec: TlsListenerSpec;
  readonly sessionIdContext: string;
  readonly resumption: TlsResumption;
  private readonly options: ListenerTlsOptions;
  private readonly material: CertificateMaterial;
  /** the listener's own certificate, one choice per build in use */
  private defaults = new ContextVariants<TlsContextChoice>();

  private constructor(spec: TlsListenerSpec, material: CertificateMaterial, options: ListenerTlsOptions) {
    this.spec = spec;
    this.options = options;
    this.sessionIdContext = options.sessionIdContext;
    this.resumption = options.resumption ?? noResumptionSharing();
    this.material = material;
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
    const listener = new ListenerTls(spec, r.material, options);
    try {
      listener.defaultFor(listener.resumption.variantFor(null));
    } catch (e) {
      throw new ConfigError(
        `${what}: OpenSSL refuses this certificate or cipher list: ${(e as Error).message}`,
      );
    }
    return listener;
  }

  /**
   * The listener's own certificate built as `variant`: built on first use (a build of this
   * material already succeeded, so only a failure of OpenSSL itself can throw here; the
   * front turns that into a refused handshake).
   */
  private defaultFor(variant: number): TlsContextChoice {
    const held = this.defaults.get(variant);
    if (held !== undefined) return held;
    const r = this.resumption;
    // builds whose ticket key left the accepted window are let go (lazily, here)
    for (const old of this.defaults.prune(r.live)) freeSecureContextNow(old.context);
    const context = buildSecureContext(
      this.material,
      this.options.settings,
      this.sessionIdContext,
      r.buildOf(variant),
    );
    const choice = this.choiceFor(context);
    this.defaults.set(variant, choice);
    return choice;
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

  /**
   * The context for this hello: its server name's certificate, else the listener's own, built
   * as the hello's resumption variant (the ticket's key period, or without tickets).
   */
  contextFor(hello: ClientHello | null): TlsContextChoice {
    const variant = this.resumption.variantFor(hello);
    if (hello !== null && this.options.registry !== null) {
      const choice = this.options.registry.lookup(hello.serverName, variant);
      if (choice !== null) return choice;
    }
    return this.defaultFor(variant);
  }
}
