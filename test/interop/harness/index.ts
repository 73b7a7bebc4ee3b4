/**
 * The interop test harness: real uWSGI nodes and routers, nginx, and uwrouter as child
 * processes that are always cleaned up, plus small clients. Import from here in tests.
 */

export { HAPROXY_BIN, haproxyTcpConf, startHaproxy } from './haproxy.ts';
export {
  dechunk,
  type HttpRequestOptions,
  type HttpResponse,
  httpGet,
  parseRawHttpResponse,
  type RawHttpResponse,
  type RawRequestOptions,
  rawRequest,
  uwsgiGet,
  uwsgiPacket,
} from './http-client.ts';
export {
  type NginxConfOptions,
  type NginxHandle,
  nginxConf,
  nginxMainConf,
  nginxProxyPassConf,
  nginxUwsgiPassConf,
  startNginx,
  UWSGI_PARAMS,
} from './nginx.ts';
export { type PollOptions, pollUntil, readStatsJson } from './poll.ts';
export { freePort, removeTmpDir, tmpDir, waitForPort, waitForUnixSocket } from './ports.ts';
export {
  type ExitInfo,
  isProcessGone,
  liveProcesses,
  type ManagedProcess,
  processGroupMembers,
  type SpawnManagedOptions,
  spawnManaged,
  stopAllProcesses,
} from './process-registry.ts';
export { REDIS_BIN, startRedis } from './redis.ts';
export { type ServerHandle, ServerStartError } from './server-process.ts';
export {
  childPids,
  REPO_ROOT,
  startUwrouter,
  throughWorker,
  type UwrouterOptions,
  uwrouterEntry,
} from './uwrouter.ts';
export {
  APPS_DIR,
  listenPortFromArgs,
  startUwsgiNode,
  startUwsgiRouter,
  type UwsgiNodeOptions,
  type UwsgiRouterKind,
  type UwsgiRouterOptions,
} from './uwsgi.ts';
