/**
 * The published package works: `npm pack` (which builds dist/ through `prepare`), install
 * the tarball into an empty folder, import it with the project's Node, type-check a
 * consumer against its declarations, and run its `uwrouter` bin. Packing happens in a
 * copy of the sources, so this worktree's dist/ is left alone.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'uwrouter-pack-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** npm and the scripts it runs use the project's Node (node_modules/.bin/node first). */
const env = {
  ...process.env,
  PATH: `${dirname(process.execPath)}:${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
};

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 180_000, stdio: 'pipe' });
}

test('npm pack → npm install → import { subscribe } from "uwrouter" works', { timeout: 300_000 }, () => {
  const src = join(work, 'src');
  mkdirSync(src);
  for (const f of [
    'package.json',
    'package-lock.json',
    'tsconfig.json',
    'tsconfig.build.json',
    'README.md',
  ]) {
    cpSync(join(ROOT, f), join(src, f));
  }
  for (const d of ['src', 'examples']) cpSync(join(ROOT, d), join(src, d), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(src, 'node_modules'));
  run('npm', ['pack', '--pack-destination', work], src);
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  assert.ok(tarball, 'npm pack made a tarball');
  const files = run('tar', ['tzf', join(work, tarball)], work).split('\n');
  for (const f of ['package/dist/index.js', 'package/dist/index.d.ts', 'package/dist/cli.js']) {
    assert.ok(files.includes(f), `${f} is in the package`);
  }
  assert.ok(!files.some((f) => f.startsWith('package/src/') || f.startsWith('package/test/')));

  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), '{"name":"app","private":true,"type":"module"}\n');
  run('npm', ['install', '--prefer-offline', '--ignore-scripts', join(work, tarball)], app);

  // the README's example, against a UDP socket standing in for a subscription server
  writeFileSync(
    join(app, 'announce.mjs'),
    `import { createSocket } from 'node:dgram';
import { subscribe } from 'uwrouter';
const udp = createSocket('udp4');
await new Promise((r) => udp.bind(0, '127.0.0.1', r));
const packets = [];
udp.on('message', (m) => packets.push(m));
const sub = subscribe({ server: '127.0.0.1:' + udp.address().port, key: 'example.com', address: '127.0.0.1:3000' });
while (packets.length < 1) await new Promise((r) => setTimeout(r, 10));
await sub.stop();
while (packets.length < 2) await new Promise((r) => setTimeout(r, 10));
udp.close();
// uwsgi header: modifier1 224, modifier2 0 = subscribe, 1 = unsubscribe
console.log(JSON.stringify(packets.map((p) => [p[0], p[3], p.includes(Buffer.from('example.com'))])));
`,
  );
  const out = execFileSync(process.execPath, ['announce.mjs'], {
    cwd: app,
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.deepEqual(JSON.parse(out), [
    [224, 0, true],
    [224, 1, true],
  ]);

  // a TypeScript consumer type-checks against the shipped declarations
  writeFileSync(
    join(app, 'consumer.ts'),
    `import { configFromValues, type SubscribeOptions, silentLogger, startRouters, subscribe } from 'uwrouter';
const o: SubscribeOptions = { server: '127.0.0.1:2626', key: 'k', address: '127.0.0.1:3000' };
const sub: { stop(): Promise<void> } = subscribe(o);
const running: Promise<{ close(): Promise<void> }> = startRouters(configFromValues({ fastrouter: '127.0.0.1:0' }), silentLogger(), 'x');
void sub;
void running;
`,
  );
  run(
    'tsc',
    [
      '--noEmit',
      '--strict',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--types',
      'node',
      '--typeRoots',
      join(ROOT, 'node_modules', '@types'),
      'consumer.ts',
    ],
    app,
  );

  const version = execFileSync(join(app, 'node_modules', '.bin', 'uwrouter'), ['--version'], {
    env,
    encoding: 'utf8',
  });
  assert.match(version, /^uwrouter 0\.\d+\.\d+ \(node v\d+/);
});
