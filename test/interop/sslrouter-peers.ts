/**
 * What the sslrouter interop tests share: certificates made at run time (one CA; names for
 * SNI; client certificates from that CA and from a foreign one), uwrouter's and uWSGI's
 * sslrouter on free ports, and the real TLS clients (curl, openssl s_client) run with input,
 * output and a time limit.
 */
import { spawn } from 'node:child_process';
import { TestCerts } from '../tls/test-certs.ts';
import { freePort, type ServerHandle, startUwrouter, startUwsgiRouter } from './harness/index.ts';

export const certs = new TestCerts('interop-ssl');
export const ca = certs.ca();
/** the listener's own certificate: also valid for 127.0.0.1 and localhost */
export const dflt = certs.leaf(ca, 'default.example', { names: ['localhost', '127.0.0.1'] });
export const nameA = certs.leaf(ca, 'a.example');
export const nameB = certs.leaf(ca, 'b.example', { kind: 'rsa' });
export const nameC = certs.leaf(ca, 'c.example');
export const shop = certs.leaf(ca, 'shop.example', { names: ['shop1.example', 'shop42.example'] });
export const client = certs.leaf(ca, 'interop client', { client: true });
const foreign = new TestCerts('interop-foreign');
const foreignCa = foreign.ca('a foreign CA');
export const stranger = foreign.leaf(foreignCa, 'stranger', { client: true });

/** `--sni NAME CRT,KEY` for a.example, b.example, c.example and a regexp for shopN.example */
export const SNI_ARGS = [
  '--sni',
  `a.example ${nameA.crt},${nameA.key}`,
  '--sni',
  `b.example ${nameB.crt},${nameB.key}`,
  '--sni',
  `c.example ${nameC.crt},${nameC.key}`,
  '--sni-regexp',
  `^shop[0-9]+\\.example$ ${shop.crt},${shop.key}`,
];

export interface Router {
  port: number;
  router: ServerHandle;
}

/** `--sslrouter 127.0.0.1:P,CRT,KEY[EXTRA]` + args, on uwrouter. */
export async function uwrouterSsl(args: string[], extra = '', cert = dflt): Promise<Router> {
  const port = await freePort();
  const router = await startUwrouter([
    '--sslrouter',
    `127.0.0.1:${port},${cert.crt},${cert.key}${extra}`,
    ...args,
  ]);
  return { port, router };
}

/** The same on uWSGI's sslrouter (`uwsgi --plugin sslrouter --master …`). */
export async function uwsgiSsl(args: string[], extra = '', cert = dflt): Promise<Router> {
  const port = await freePort();
  const router = await startUwsgiRouter('sslrouter', [
    '--sslrouter',
    `127.0.0.1:${port},${cert.crt},${cert.key}${extra}`,
    ...args,
  ]);
  return { port, router };
}

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** killed at the time limit */
  timedOut: boolean;
}

/** Runs a tool with `input` on its stdin, killed after `timeoutMs`. */
export function runTool(
  command: string,
  args: readonly string[],
  opts: { input?: string | Buffer; timeoutMs?: number; keepStdinOpenMs?: number } = {},
): Promise<ToolResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.stdin.on('error', () => {});
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 10_000);
    if (opts.input !== undefined) child.stdin.write(opts.input);
    if (opts.keepStdinOpenMs) setTimeout(() => child.stdin.end(), opts.keepStdinOpenMs);
    else child.stdin.end();
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout: Buffer.concat(out).toString('latin1'),
        stderr: Buffer.concat(err).toString('latin1'),
        timedOut,
      });
    });
  });
}

/** `openssl s_client -connect 127.0.0.1:PORT -CAfile CA ARGS…` with `input`, to the server's close. */
export function sClient(port: number, args: string[], input = '', timeoutMs = 10_000): Promise<ToolResult> {
  return runTool(
    'openssl',
    ['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', ca.crt, '-ign_eof', ...args],
    { input, timeoutMs },
  );
}

/** The negotiated version and cipher of an s_client run (`New, TLSv1.3, Cipher is …`). */
export function negotiated(r: ToolResult): { version: string; cipher: string } | null {
  const m = /New, (TLSv[\d.]+|SSLv3), Cipher is (\S+)/.exec(r.stdout);
  return m && m[2] !== '(NONE)' ? { version: m[1], cipher: m[2] } : null;
}

/** The served certificate's subject CN (from s_client's `subject=CN = …` line). */
export function servedName(r: ToolResult): string | null {
  const m = /^subject=.*CN ?= ?([^,\n]+)/m.exec(r.stdout);
  return m ? m[1].trim() : null;
}

/** `curl -sS --cacert CA --resolve NAME:PORT:127.0.0.1 https://NAME:PORT/PATH ARGS…` */
export function curlHttps(
  port: number,
  opts: { name?: string; path?: string; args?: string[]; timeoutMs?: number } = {},
): Promise<ToolResult> {
  const name = opts.name ?? 'localhost';
  return runTool(
    'curl',
    [
      '-sS',
      '--max-time',
      '8',
      '--cacert',
      ca.crt,
      '--resolve',
      `${name}:${port}:127.0.0.1`,
      ...(opts.args ?? []),
      `https://${name}:${port}${opts.path ?? '/'}`,
    ],
    { timeoutMs: opts.timeoutMs ?? 10_000 },
  );
}
