/**
 * The PROXY protocol v2 TLVs a TLS-terminating proxy sends about the client's TLS session
 * (HAProxy's proxy-protocol.txt §2.2.2 PP2_TYPE_AUTHORITY, §2.2.5 PP2_TYPE_SSL), so a node
 * behind the sslrouter learns the server name, the protocol version and cipher, and the
 * client certificate's CN. Pure: values in, TLVs out.
 */
import { PP2_TYPE_AUTHORITY, PP2_TYPE_SSL, type ProxyTlv } from './proxy-protocol.ts';

/** pp2_tlv_ssl.client bits (§2.2.5) */
export const PP2_CLIENT_SSL = 0x01;
export const PP2_CLIENT_CERT_CONN = 0x02;
export const PP2_CLIENT_CERT_SESS = 0x04;
/** PP2_TYPE_SSL sub-TLVs (§2.2.5) */
export const PP2_SUBTYPE_SSL_VERSION = 0x21;
export const PP2_SUBTYPE_SSL_CN = 0x22;
export const PP2_SUBTYPE_SSL_CIPHER = 0x23;

/** longest text put in one sub-TLV (a CN or a name is far shorter; a header stays small) */
const MAX_TEXT = 255;

export interface TlsSessionFacts {
  /** the SNI host name the client sent, or null */
  serverName: string | null;
  /** `TLSv1.3`, `TLSv1.2`, … (OpenSSL's name) */
  version: string | null;
  /** OpenSSL's cipher name, e.g. `TLS_AES_128_GCM_SHA256`, `ECDHE-RSA-AES128-GCM-SHA256` */
  cipher: string | null;
  /** the client presented a certificate and it verified */
  clientCertificate: boolean;
  /** the client certificate's subject CN (when it presented one) */
  clientCommonName: string | null;
}

function text(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  return b.length > MAX_TEXT ? b.subarray(0, MAX_TEXT) : b;
}

function subTlv(type: number, value: Buffer): Buffer {
  const out = Buffer.allocUnsafe(3 + value.length);
  out[0] = type;
  out.writeUInt16BE(value.length, 1);
  value.copy(out, 3);
  return out;
}

/**
 * AUTHORITY (when a server name was sent) and SSL: `client` = SSL, plus CERT_CONN|CERT_SESS
 * with a verified certificate; `verify` = 0 only then (the spec: "zero if the client
 * presented a certificate and it was successfully verified"); sub-TLVs VERSION, CIPHER, CN.
 */
export function tlsSessionTlvs(facts: TlsSessionFacts): ProxyTlv[] {
  const tlvs: ProxyTlv[] = [];
  if (facts.serverName !== null && facts.serverName !== '') {
    tlvs.push({ type: PP2_TYPE_AUTHORITY, value: text(facts.serverName) });
  }
  const subs: Buffer[] = [];
  if (facts.version) subs.push(subTlv(PP2_SUBTYPE_SSL_VERSION, text(facts.version)));
  if (facts.clientCertificate && facts.clientCommonName) {
    subs.push(subTlv(PP2_SUBTYPE_SSL_CN, text(facts.clientCommonName)));
  }
  if (facts.cipher) subs.push(subTlv(PP2_SUBTYPE_SSL_CIPHER, text(facts.cipher)));
  const head = Buffer.allocUnsafe(5);
  head[0] = PP2_CLIENT_SSL | (facts.clientCertificate ? PP2_CLIENT_CERT_CONN | PP2_CLIENT_CERT_SESS : 0);
  head.writeUInt32BE(facts.clientCertificate ? 0 : 1, 1);
  tlvs.push({ type: PP2_TYPE_SSL, value: Buffer.concat([head, ...subs]) });
  return tlvs;
}
