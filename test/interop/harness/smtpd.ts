/**
 * A real SMTP server for server-speaks-first tests: Python's smtpd DebuggingServer on a free
 * 127.0.0.1 port (it prints each mail it receives to its log), returned once it accepts
 * connections. Killed with the other managed processes.
 */
import { freePort, waitForPort } from './ports.ts';
import { type ManagedProcess, spawnManaged } from './process-registry.ts';

export async function startSmtpd(): Promise<{ port: number; smtpd: ManagedProcess }> {
  const port = await freePort();
  const smtpd = spawnManaged('smtpd', '/usr/bin/python3', [
    '-u',
    '-W',
    'ignore',
    '-m',
    'smtpd',
    '-n',
    '-c',
    'DebuggingServer',
    `127.0.0.1:${port}`,
  ]);
  await waitForPort(port);
  return { port, smtpd };
}
