/** `openssl s_time -new`: full TLS handshakes (no resumption: wrk would resume) against a port. */
import { spawn } from 'node:child_process';

/**
 * One `openssl s_time -connect 127.0.0.1:PORT -new -www / -time SECS` client; resolves with
 * its connection count and the bytes read per connection (0 = nothing came back).
 */
export function sTime(port: number, secs: number): Promise<{ connections: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      'openssl',
      ['s_time', '-connect', `127.0.0.1:${port}`, '-new', '-www', '/', '-time', String(secs)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    p.stdout.on('data', (c: Buffer) => {
      out += c.toString('latin1');
    });
    p.stderr.on('data', () => {});
    const kill = setTimeout(() => p.kill('SIGKILL'), (secs + 20) * 1000);
    p.on('close', () => {
      clearTimeout(kill);
      const m = /(\d+) connections in \d+ real seconds, (\d+) bytes read per connection/.exec(out);
      if (!m) reject(new Error(`s_time printed no summary: ${out.slice(-300)}`));
      else resolve({ connections: Number(m[1]), bytes: Number(m[2]) });
    });
  });
}
