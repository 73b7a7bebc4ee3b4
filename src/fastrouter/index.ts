/**
 * The fastrouter: uwsgi in, uwsgi out (behind nginx `uwsgi_pass`), plus PROXY headers from
 * trusted peers (uwrouter extension).
 */
import { tmpdir } from 'node:os';
import type { Config } from '../config/config.ts';
import { coreOptionsFromConfig, type RouterExtras } from '../corerouter/from-config.ts';
import { withProxyIntake } from '../corerouter/proxy-intake.ts';
import { proxyIntakeFromConfig } from '../corerouter/proxy-intake-config.ts';
import { CoreRouter } from '../corerouter/router.ts';
import { bodyStoreDir, MAX_STORED_BODY } from '../corerouter/stored-body.ts';
import type { Logger } from '../logger.ts';
import { type FastrouterSettings, fastrouterHandler } from './connection.ts';

export { readFastrouterKey } from './key.ts';

/** `fastrouter-post-buffering` and the options that only matter with it (spec: uwsgi-protocol.md §7.7). */
function postBufferingFromConfig(
  config: Config,
  log: Logger,
): Pick<FastrouterSettings, 'postBuffering' | 'maxBody' | 'bodyDir'> {
  const postBuffering = config.int('fastrouter-post-buffering');
  const dir = config.str('fastrouter-post-buffering-dir');
  const maxBody = config.int('fastrouter-max-body');
  if (postBuffering === 0) {
    // uWSGI ini files may carry these without post-buffering: no effect, said once
    for (const [name, given] of [
      ['fastrouter-post-buffering-dir', dir !== undefined],
      ['fastrouter-max-body', maxBody > 0],
    ] as const)
      if (given)
        log.warn(`[uwrouter] --${name}: no effect without --fastrouter-post-buffering (bodies are streamed)`);
    return { postBuffering, maxBody: MAX_STORED_BODY, bodyDir: '' };
  }
  return {
    postBuffering,
    maxBody: maxBody > 0 ? maxBody : MAX_STORED_BODY,
    // uWSGI ignores --fastrouter-post-buffering-dir (it stores in TMPDIR); uwrouter honours it
    bodyDir: bodyStoreDir('fastrouter-post-buffering-dir', dir ?? tmpdir()),
  };
}

export function createFastrouter(
  config: Config,
  log: Logger,
  extras: Omit<RouterExtras, 'listen'>,
): CoreRouter {
  const opts = coreOptionsFromConfig(config, 'fastrouter', log, {
    ...extras,
    listen: config.all('fastrouter'),
  });
  const handler = fastrouterHandler({
    timeoutMs: opts.timeoutMs,
    requestLog: extras.requestLog ?? null,
    ...postBufferingFromConfig(config, log),
  });
  // uwrouter extension: PROXY v1/v2 from trusted peers (HAProxy in front), whose source
  // becomes REMOTE_ADDR/REMOTE_PORT in the vars the node gets (connection.ts)
  const intake = proxyIntakeFromConfig(config, 'fastrouter', opts.timeoutMs);
  return new CoreRouter(opts, withProxyIntake(handler, intake));
}
