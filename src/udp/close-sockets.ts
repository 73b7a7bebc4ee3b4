/**
 * Closing a set of UDP sockets at shutdown (cache sync, subscription server): every socket is
 * closed, one already closed does not throw, and the promise settles when all are closed.
 */
import type { Socket } from 'node:dgram';

export async function closeUdpSockets(sockets: ReadonlyArray<Socket | undefined>): Promise<void> {
  await Promise.all(
    sockets.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s === undefined) return resolve();
          try {
            s.close(() => resolve());
          } catch {
            resolve();
          }
        }),
    ),
  );
}
