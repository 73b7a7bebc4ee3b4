/**
 * nginx running its workers as www-data (`user www-data;`) → uwrouter's fastrouter on a UNIX
 * socket → a real uWSGI node. `--chmod-socket=660 --chown-socket www-data:www-data` is what
 * lets the worker connect; the same socket left root-owned (the control) is refused with
 * EACCES, which proves the worker really is www-data.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { findUser } from '../../src/process/accounts.ts';
import {
  freePort,
  httpGet,
  startNginx,
  startUwrouter,
  startUwsgiNode,
  tmpDir,
  UWSGI_PARAMS,
} from './harness/index.ts';

const isRoot = process.getuid?.() === 0;
const www = findUser('www-data');

/** nginx with a root master and www-data workers; `locations` maps a path to a socket. */
function nginxAsWwwData(port: number, sockets: Record<string, string>): string {
  const locations = Object.entries(sockets)
    .map(([path, sock]) => `    location ${path} {\n${UWSGI_PARAMS}\n      uwsgi_pass unix:${sock};\n    }`)
    .join('\n');
  return `user www-data www-data;
daemon off;
master_process on;
worker_processes 1;
pid nginx.pid;
error_log stderr warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path client_body_temp;
  proxy_temp_path proxy_temp;
  fastcgi_temp_path fastcgi_temp;
  uwsgi_temp_path uwsgi_temp;
  scgi_temp_path scgi_temp;
  server {
    listen 127.0.0.1:${port};
${locations}
  }
}
`;
}

test('nginx as www-data reaches the fastrouter through a socket chmod 660, chown www-data', {
  skip: (!isRoot && 'needs root (nginx user, chown)') || (!www && 'no www-data user'),
}, async () => {
  const node = await startUwsgiNode({ app: 'hello.py' });
  const base = tmpDir('unix-mode');
  chmodSync(base, 0o755); // the worker must reach the sockets' directory
  const dir = join(base, 'sockets');
  mkdirSync(dir, 0o755);
  const owned = join(dir, 'owned.sock');
  const control = join(dir, 'control.sock');
  const routed = await startUwrouter(
    [
      ...['--fastrouter', owned, '--fastrouter-to', node.address],
      ...['--chmod-socket=660', '--chown-socket', 'www-data:www-data'],
    ],
    // bound by the primary first; the worker listens once it runs (then the line below)
    { readyPattern: /generation 1 serving/ },
  );
  const refused = await startUwrouter(
    ['--fastrouter', control, '--fastrouter-to', node.address, '--chmod-socket=660'],
    { readyPattern: /generation 1 serving/ },
  );
  const st = statSync(owned);
  assert.equal(st.mode & 0o777, 0o660);
  assert.equal(st.uid, www!.uid);
  assert.equal(st.gid, www!.gid);
  assert.equal(statSync(control).uid, 0);

  const port = await freePort();
  const nginx = await startNginx(nginxAsWwwData(port, { '/': owned, '/control': control }), { port });
  const ok = await httpGet(`http://127.0.0.1:${port}/`);
  assert.equal(ok.status, 200, nginx.logs());
  assert.equal(ok.text, 'Hello World');
  const denied = await httpGet(`http://127.0.0.1:${port}/control`);
  assert.equal(denied.status, 502);
  assert.match(nginx.logs(), /connect\(\) to unix:.*control\.sock failed \(13: Permission denied\)/);
  await nginx.stop();
  await routed.stop();
  await refused.stop();
});
