/** A private nginx (no /etc, no port 80): one process, everything inside a temp dir. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpDir } from './ports.ts';
import { asServer, type ServerHandle, startServerProcess } from './server-process.ts';

export const NGINX_BIN = process.env.NGINX_BIN ?? 'nginx';

/** nginx's stock `uwsgi_params` (upstream list), inline so tests don't depend on /etc. */
export const UWSGI_PARAMS = `
    uwsgi_param  QUERY_STRING       $query_string;
    uwsgi_param  REQUEST_METHOD     $request_method;
    uwsgi_param  CONTENT_TYPE       $content_type;
    uwsgi_param  CONTENT_LENGTH     $content_length;
    uwsgi_param  REQUEST_URI        $request_uri;
    uwsgi_param  PATH_INFO          $document_uri;
    uwsgi_param  DOCUMENT_ROOT      $document_root;
    uwsgi_param  SERVER_PROTOCOL    $server_protocol;
    uwsgi_param  REQUEST_SCHEME     $scheme;
    uwsgi_param  HTTPS              $https if_not_empty;
    uwsgi_param  REMOTE_ADDR        $remote_addr;
    uwsgi_param  REMOTE_PORT        $remote_port;
    uwsgi_param  SERVER_PORT        $server_port;
    uwsgi_param  SERVER_NAME        $server_name;
`;

export interface NginxConfOptions {
  /** directives added inside `location / { … }` */
  location?: string;
  /** directives added inside `server { … }` */
  server?: string;
  /** directives added inside `http { … }` */
  http?: string;
  /** log requests to access.log in the prefix dir (default off) */
  accessLog?: boolean;
  /** nginx error_log level (default `warn`); the log goes to stderr, i.e. `logs()` */
  errorLogLevel?: string;
}

/**
 * The common frame: one process in the foreground, every path relative to the `-p` prefix
 * (the temp dir startNginx makes), a loopback listener.
 */
export function nginxConf(listenPort: number, location: string, opts: NginxConfOptions = {}): string {
  return nginxMainConf(
    `${opts.http ?? ''}
  server {
    listen 127.0.0.1:${listenPort};
    server_name localhost;
    ${opts.server ?? ''}
    location / {
${location}
      ${opts.location ?? ''}
    }
  }`,
    opts,
  );
}

/** The frame alone, around `http` (upstreams, maps, several servers): for tests that need more. */
export function nginxMainConf(
  http: string,
  opts: Pick<NginxConfOptions, 'accessLog' | 'errorLogLevel'> = {},
): string {
  return `daemon off;
master_process off;
worker_processes 1;
pid nginx.pid;
error_log stderr ${opts.errorLogLevel ?? 'warn'};
events { worker_connections 4096; }
http {
  ${opts.accessLog ? 'access_log access.log;' : 'access_log off;'}
  client_body_temp_path client_body_temp;
  proxy_temp_path proxy_temp;
  fastcgi_temp_path fastcgi_temp;
  uwsgi_temp_path uwsgi_temp;
  scgi_temp_path scgi_temp;
  client_max_body_size 0;
  ${http}
}
`;
}

/** nginx → uwsgi: `uwsgi_pass UPSTREAM` (`127.0.0.1:3031` or `unix:/path`) with the stock params. */
export function nginxUwsgiPassConf(
  listenPort: number,
  upstream: string,
  opts: NginxConfOptions = {},
): string {
  const target = upstream.startsWith('/') ? `unix:${upstream}` : upstream;
  return nginxConf(listenPort, `${UWSGI_PARAMS}\n      uwsgi_pass ${target};`, opts);
}

/** nginx → HTTP: `proxy_pass http://UPSTREAM` (HTTP/1.1; `keepalive` pools upstream connections). */
export function nginxProxyPassConf(
  listenPort: number,
  upstream: string,
  opts: NginxConfOptions & { keepalive?: number } = {},
): string {
  const target = upstream.startsWith('/') ? `unix:${upstream}` : upstream;
  if (opts.keepalive) {
    const http = `upstream backend { server ${target}; keepalive ${opts.keepalive}; }\n  ${opts.http ?? ''}`;
    return nginxConf(
      listenPort,
      `      proxy_http_version 1.1;\n      proxy_set_header Connection "";\n      proxy_pass http://backend;`,
      { ...opts, http },
    );
  }
  return nginxConf(listenPort, `      proxy_http_version 1.1;\n      proxy_pass http://${target};`, opts);
}

export interface NginxHandle extends ServerHandle {
  readonly confPath: string;
}

/**
 * Run nginx with `conf` (a whole nginx.conf; see the helpers above) as `nginx -c FILE -p DIR`
 * and wait until it listens: on `opts.port`, else the first `listen 127.0.0.1:PORT` in conf.
 * `stop()` sends SIGQUIT (graceful), then SIGKILL after 5 s.
 */
export async function startNginx(
  conf: string,
  opts: { port?: number; waitMs?: number } = {},
): Promise<NginxHandle> {
  const dir = tmpDir('nginx');
  const confPath = join(dir, 'nginx.conf');
  writeFileSync(confPath, conf);
  const port = opts.port ?? Number(/listen\s+(?:127\.0\.0\.1:|\[::1\]:)?(\d+)/.exec(conf)?.[1] ?? Number.NaN);
  if (!Number.isInteger(port)) throw new Error('startNginx: no port given and no `listen` found in conf');
  const host = /listen\s+\[::1\]:/.test(conf) ? '::1' : '127.0.0.1';
  const p = await startServerProcess('nginx', NGINX_BIN, ['-e', 'stderr', '-c', confPath, '-p', `${dir}/`], {
    cwd: dir,
    stopSignal: 'SIGQUIT',
    ready: { port, host },
    waitMs: opts.waitMs,
  });
  return Object.assign(asServer(p, { host, port, dir }), { confPath });
}
