import type { RouterName } from '../config/config.ts';

/** How uWSGI names each router in its log lines (spec: corerouter.md §1, §9). */
export const DISPLAY_NAME: Record<RouterName, string> = {
  fastrouter: 'uWSGI fastrouter',
  rawrouter: 'uWSGI rawrouter',
  sslrouter: 'uWSGI sslrouter',
  http: 'uWSGI http',
};
