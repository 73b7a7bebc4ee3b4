/**
 * A child process for test/cluster/bound-sockets.test.ts: adopts the listening socket its
 * parent sends (as a cluster worker does) and answers every connection with its pid.
 */
import { adoptListener } from '../../src/corerouter/listener.ts';

process.on('message', (m: { configured: string; name: string; fd: number }, handle: unknown) => {
  void adoptListener(handle as object, m, 100, (s) => s.end(`hi from ${process.pid}`)).then(() =>
    process.send?.('listening'),
  );
});
process.send?.('ready');
