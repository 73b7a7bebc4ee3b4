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
import { bodyStoreDir } from '../corerouter/stored-body.ts';
import type { Logger } from '../logger.ts';
import { fastrouterHandler } from './connection.ts';

export { readFastrouterKey } from './key.ts';

export function createFastrouter(
  config: Config,
  log: Logger,
  extras: Omit<RouterExtras, 'listen'>,
): CoreRouter {
  const opts = coreOptionsFromConfig(config, 'fastrouter', log, {
    ...extras,
    listen: config.all('fastrouter'),
  });
  const postBuffering = config.int('fastrouter-post-buffering');
  const handler = fastrouterHandler({
    timeoutMs: opts.timeoutMs,
    requestLog: extras.requestLog ?? null,
    postBuffering,
    // uWSGI ignores --fastrouter-post-buffering-dir (it stores in TMPDIR); uwrouter honours it
    bodyDir:
      postBuffering > 0
        ? bodyStoreDir(
            'fastrouter-post-buffering-dir',
            config.str('fastrouter-post-buffering-dir') ?? tmpdir(),
          )
        : '',
  });
  // uwrouter extension: PROXY v1/v2 from trusted peers (HAProxy in front), whose source
  // becomes REMOTE_ADDR/REMOTE_PORT in the vars the node gets (connection.ts)
  const intake = proxyIntakeFromConfig(config, 'fastrouter', opts.timeoutMs);
  return new CoreRouter(opts, withProxyIntake(handler, intake));
}
