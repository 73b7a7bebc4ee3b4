/**
 * A certificate's subject as OpenSSL's `X509_NAME_oneline` prints it — the `HTTPS_DN` var
 * uWSGI's HTTPS router sends (spec: http-router.md §9), e.g. `/C=IT/O=Acme/CN=alice`.
 * Pure: DER bytes in, the string out (or null when the bytes are not a certificate this
 * reader understands); never throws, every read bounded by the input.
 *
 * Node has no such function (X509Certificate.subject is RFC 2253-escaped, one attribute per
 * line, and joins multi-valued RDNs differently), so the subject is read from the DER:
 * Certificate → tbsCertificate → subject (after version, serialNumber, signature, issuer,
 * validity), a SEQUENCE OF SET OF {type OID, value}. What OpenSSL 3 prints, checked
 * against X509_NAME_oneline itself (test/fixtures/x509/):
 * - `/` before each RDN, `+` between the attributes of one multi-valued RDN;
 * - the attribute's OpenSSL short name (`CN`, `emailAddress`, `DC`, …), or the dotted OID
 *   for a type OpenSSL has no name for;
 * - the value's content bytes; a byte below 0x20 or above 0x7e as `\xHH` (upper-case hex,
 *   so UTF-8 and BMPString bytes come out escaped), `/` and `+` preceded by `\`;
 * - a GeneralString whose length is a multiple of 4 and whose first three bytes of every
 *   group of four are zero is printed from every fourth byte (OpenSSL's UCS-4 shortcut);
 * - a SEQUENCE or SET value is printed whole (tag and length included), as OpenSSL keeps it.
 */

interface Tlv {
  tag: number;
  /** offset of the tag byte */
  start: number;
  /** offset of the content */
  content: number;
  /** offset after the content */
  end: number;
}

/** One DER TLV at `pos` within `limit` (single-byte tags, definite lengths ≤ 4 bytes). */
function readTlv(b: Uint8Array, pos: number, limit: number): Tlv | null {
  if (pos + 2 > limit) return null;
  const tag = b[pos];
  if ((tag & 0x1f) === 0x1f) return null; // high tag numbers: never in a certificate's name
  let len = b[pos + 1];
  let content = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || content + n > limit) return null;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[content + i];
    content += n;
  }
  const end = content + len;
  if (end > limit) return null;
  return { tag, start: pos, content, end };
}

/** OpenSSL's short names of the attribute types seen in certificate names (objects.txt). */
const SHORT_NAMES: ReadonlyMap<string, string> = new Map([
  ['2.5.4.3', 'CN'],
  ['2.5.4.4', 'SN'],
  ['2.5.4.5', 'serialNumber'],
  ['2.5.4.6', 'C'],
  ['2.5.4.7', 'L'],
  ['2.5.4.8', 'ST'],
  ['2.5.4.9', 'street'],
  ['2.5.4.10', 'O'],
  ['2.5.4.11', 'OU'],
  ['2.5.4.12', 'title'],
  ['2.5.4.13', 'description'],
  ['2.5.4.14', 'searchGuide'],
  ['2.5.4.15', 'businessCategory'],
  ['2.5.4.16', 'postalAddress'],
  ['2.5.4.17', 'postalCode'],
  ['2.5.4.18', 'postOfficeBox'],
  ['2.5.4.19', 'physicalDeliveryOfficeName'],
  ['2.5.4.20', 'telephoneNumber'],
  ['2.5.4.41', 'name'],
  ['2.5.4.42', 'GN'],
  ['2.5.4.43', 'initials'],
  ['2.5.4.44', 'generationQualifier'],
  ['2.5.4.45', 'x500UniqueIdentifier'],
  ['2.5.4.46', 'dnQualifier'],
  ['2.5.4.54', 'dmdName'],
  ['2.5.4.65', 'pseudonym'],
  ['2.5.4.72', 'role'],
  ['2.5.4.97', 'organizationIdentifier'],
  ['1.2.840.113549.1.9.1', 'emailAddress'],
  ['1.2.840.113549.1.9.2', 'unstructuredName'],
  ['1.2.840.113549.1.9.8', 'unstructuredAddress'],
  ['0.9.2342.19200300.100.1.1', 'UID'],
  ['0.9.2342.19200300.100.1.25', 'DC'],
  ['1.3.6.1.4.1.311.60.2.1.1', 'jurisdictionL'],
  ['1.3.6.1.4.1.311.60.2.1.2', 'jurisdictionST'],
  ['1.3.6.1.4.1.311.60.2.1.3', 'jurisdictionC'],
]);

/** The dotted form of an OBJECT IDENTIFIER's content; null when malformed. */
function oidText(b: Uint8Array, from: number, to: number): string | null {
  if (from >= to) return null;
  let out = '';
  let v = 0;
  let first = true;
  for (let i = from; i < to; i++) {
    const c = b[i];
    if (v === 0 && c === 0x80) return null; // DER: no leading 0x80 in a subidentifier
    v = v * 128 + (c & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER / 128) return null;
    if (c & 0x80) continue;
    if (first) {
      const x = v < 40 ? 0 : v < 80 ? 1 : 2;
      out = `${x}.${v - 40 * x}`;
      first = false;
    } else out += `.${v}`;
    v = 0;
  }
  return (b[to - 1] & 0x80) === 0 ? out : null;
}

const HEX = '0123456789ABCDEF';
const GENERAL_STRING = 0x1b;

/** The value bytes as X509_NAME_oneline prints them. */
function valueText(b: Uint8Array, v: Tlv): string {
  const whole = v.tag === 0x30 || v.tag === 0x31;
  const from = whole ? v.start : v.content;
  const to = v.end;
  let step = 1;
  let offset = 0;
  const len = to - from;
  if (v.tag === GENERAL_STRING && len % 4 === 0 && len > 0) {
    // every group of 4 bytes that is 0,0,0,c: print only c (OpenSSL's gs_doit)
    let others = false;
    for (let i = from; i < to && !others; i++) if ((i - from) % 4 !== 3 && b[i] !== 0) others = true;
    if (!others) {
      step = 4;
      offset = 3;
    }
  }
  let out = '';
  for (let i = from + offset; i < to; i += step) {
    const c = b[i];
    if (c < 0x20 || c > 0x7e) out += `\\x${HEX[c >> 4]}${HEX[c & 15]}`;
    else if (c === 0x2f || c === 0x2b) out += `\\${String.fromCharCode(c)}`;
    else out += String.fromCharCode(c);
  }
  return out;
}

/** The subject Name TLV of a DER certificate; null when the structure is not one. */
function subjectOf(der: Uint8Array): Tlv | null {
  const cert = readTlv(der, 0, der.length);
  if (cert === null || cert.tag !== 0x30) return null;
  const tbs = readTlv(der, cert.content, cert.end);
  if (tbs === null || tbs.tag !== 0x30) return null;
  let p = tbs.content;
  let field = readTlv(der, p, tbs.end);
  if (field !== null && field.tag === 0xa0) {
    p = field.end; // [0] EXPLICIT version
    field = readTlv(der, p, tbs.end);
  }
  // serialNumber, signature, issuer, validity, then subject
  const expected = [0x02, 0x30, 0x30, 0x30];
  for (const tag of expected) {
    if (field === null || field.tag !== tag) return null;
    p = field.end;
    field = readTlv(der, p, tbs.end);
  }
  return field !== null && field.tag === 0x30 ? field : null;
}

/** `X509_NAME_oneline(X509_get_subject_name(cert))` for a DER certificate; null when unreadable. */
export function x509SubjectOneline(der: Uint8Array): string | null {
  const name = subjectOf(der);
  if (name === null) return null;
  let out = '';
  for (let p = name.content; p < name.end; ) {
    const rdn = readTlv(der, p, name.end);
    if (rdn === null || rdn.tag !== 0x31) return null;
    let sep = '/';
    for (let q = rdn.content; q < rdn.end; ) {
      const atv = readTlv(der, q, rdn.end);
      if (atv === null || atv.tag !== 0x30) return null;
      const type = readTlv(der, atv.content, atv.end);
      if (type === null || type.tag !== 0x06) return null;
      const value = readTlv(der, type.end, atv.end);
      if (value === null || value.end !== atv.end) return null;
      const oid = oidText(der, type.content, type.end);
      if (oid === null) return null;
      out += `${sep}${SHORT_NAMES.get(oid) ?? oid}=${valueText(der, value)}`;
      sep = '+';
      q = atv.end;
    }
    if (sep === '/') return null; // an empty RDN
    p = rdn.end;
  }
  return out;
}
