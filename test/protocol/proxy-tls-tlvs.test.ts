/**
 * PROXY v2 TLS TLVs (src/protocol/proxy-tls-tlvs.ts) against byte layouts written out from
 * HAProxy's proxy-protocol.txt §2.2.2 (PP2_TYPE_AUTHORITY) and §2.2.5 (PP2_TYPE_SSL).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeProxyV2 } from '../../src/protocol/proxy-protocol.ts';
import { ProxyHeaderReader } from '../../src/protocol/proxy-protocol-reader.ts';
import { tlsSessionTlvs } from '../../src/protocol/proxy-tls-tlvs.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ascii = (s: string) => Buffer.from(s, 'latin1').toString('hex');

test('a verified client certificate: AUTHORITY, then SSL with client 0x07, verify 0, VERSION, CN, CIPHER', () => {
  const tlvs = tlsSessionTlvs({
    serverName: 'a.example',
    version: 'TLSv1.3',
    cipher: 'X',
    clientCertificate: true,
    clientCommonName: 'me',
  });
  assert.deepEqual(
    tlvs.map((t) => [t.type, t.value.toString('hex')]),
    [
      [0x02, ascii('a.example')],
      [
        0x20,
        `07 00000000 21 0007 ${ascii('TLSv1.3')} 22 0002 ${ascii('me')} 23 0001 ${ascii('X')}`.replace(
          / /g,
          '',
        ),
      ],
    ],
  );
});

test('no certificate, no server name: SSL alone, client 0x01, verify non-zero, no CN', () => {
  const tlvs = tlsSessionTlvs({
    serverName: null,
    version: 'TLSv1.2',
    cipher: 'ECDHE-RSA-AES128-GCM-SHA256',
    clientCertificate: false,
    clientCommonName: 'ignored',
  });
  assert.equal(tlvs.length, 1);
  assert.deepEqual(
    tlvs[0].value,
    hex(`01 00000001 21 0007 ${ascii('TLSv1.2')} 23 001b ${ascii('ECDHE-RSA-AES128-GCM-SHA256')}`),
  );
});

test('the TLVs ride a v2 header that a PROXY reader decodes back; long values are cut at 255 bytes', () => {
  const tlvs = tlsSessionTlvs({
    serverName: 'n'.repeat(300),
    version: 'TLSv1.3',
    cipher: null,
    clientCertificate: true,
    clientCommonName: 'c'.repeat(400),
  });
  const header = encodeProxyV2(
    { srcAddress: '192.0.2.9', srcPort: 5555, dstAddress: '127.0.0.1', dstPort: 443 },
    { tlvs },
  );
  const r = new ProxyHeaderReader().push(header);
  assert.equal(r.state, 'done');
  if (r.state !== 'done') return;
  assert.equal(r.header.srcAddress, '192.0.2.9');
  assert.equal(r.header.tlvs[0].value.length, 255);
  const ssl = r.header.tlvs[1].value;
  // client, verify, VERSION (3 + 7), CN (3 + 255), no CIPHER
  assert.equal(ssl.length, 5 + 10 + 258);
  assert.equal(ssl[15], 0x22);
  assert.equal(ssl.readUInt16BE(16), 255);
});
