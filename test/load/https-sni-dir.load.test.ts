/**
 * Load lane for --sni-dir (functional half: test/interop/https-sni.test.ts): 1,000 generated
 * names, each asked for once through the HTTPS listener with `--ssl-contexts-max 200`: every
 * name gets its own certificate, at most 200 stay loaded (the LRU bound), and the router's
 * memory grows within the margin.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeSniDir } from '../interop/sni-dir-certs.ts';
import { touchSniDir } from '../interop/sni-dir-touch.ts';
import { certs } from '../interop/sslrouter-peers.ts';
import { SNI_DIR_1000_RSS_GROWTH_MAX_BYTES } from './margins.ts';

test('--sni-dir of 1,000 names, each served once: its own certificate, at most 200 loaded, memory bounded', {
  timeout: 200_000,
}, async () => {
  const dir = makeSniDir(certs.path('load-sni-dir'), 1000);
  const r = await touchSniDir(dir, 1000, ['--ssl-contexts-max', '200']);
  assert.equal(r.wrongCertificates, 0);
  assert.equal(r.tls.handshakes, 1000);
  assert.equal(r.tls.context_builds, 1000);
  assert.ok(r.tls.contexts <= 200, `contexts kept: ${r.tls.contexts}`);
  assert.ok(r.tls.sni_names.dir <= 200, `names loaded: ${r.tls.sni_names.dir}`);
  const grown = r.rssAfter - r.rssBefore;
  assert.ok(
    grown < SNI_DIR_1000_RSS_GROWTH_MAX_BYTES,
    `RSS grew by ${(grown / 1048576).toFixed(1)} MiB (margin ${SNI_DIR_1000_RSS_GROWTH_MAX_BYTES / 1048576} MiB)`,
  );
});
