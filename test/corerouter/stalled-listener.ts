/**
 * A TCP address on loopback where connect() hangs: the SYN is dropped, as on a node whose
 * host went away behind a firewall. Deterministic and without privileges or extra interfaces:
 *
 * - a listener with backlog 1 on 127.0.0.1, owned by a worker thread that blocks in
 *   `Atomics.wait` right after listen(): nothing ever calls accept() on it;
 * - the kernel still completes handshakes into the accept queue until it is full (Linux:
 *   full when it holds more than `backlog` connections, so 2 for backlog 1), then drops
 *   every further SYN (`tcp_conn_request`: LINUX_MIB_LISTENOVERFLOWS, whatever syncookies
 *   say); the client retransmits its SYN (1 s, 3 s, …) and connect() stays pending.
 *
 * `start()` fills the queue with exactly `backlog + 1` connections and checks that each one
 * completed, so a kernel that queued differently makes the caller's test fail rather than
 * pass on a connect that quietly succeeded.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';

const BACKLOG = 1;

// Plain JS (an eval'd worker does not go through the TypeScript loader).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createServer } = require('node:net');
const gate = new Int32Array(workerData.gate);
const server = createServer();
server.listen({ host: '127.0.0.1', port: 0, backlog: workerData.backlog }, () => {
  parentPort.postMessage(server.address().port);
  // block this thread's event loop: the listening socket is never accept()ed from
  Atomics.wait(gate, 0, 0);
  server.close();
  parentPort.close();
});
`;

export interface StalledListener {
  /** `127.0.0.1:PORT` — a connect to it hangs until the caller gives up */
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startStalledListener(): Promise<StalledListener> {
  const gate = new SharedArrayBuffer(4);
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { gate, backlog: BACKLOG } });
  const [port] = (await once(worker, 'message')) as [number];
  // a listener left open by a failing test must not keep the test process alive (nor its
  // filler connections, unref'd below)
  worker.unref();
  const fillers: Socket[] = [];
  const close = async (): Promise<void> => {
    for (const s of fillers) s.destroy();
    worker.ref(); // wait for its exit below
    Atomics.store(new Int32Array(gate), 0, 1);
    Atomics.notify(new Int32Array(gate), 0);
    await once(worker, 'exit');
  };
  try {
    for (let i = 0; i <= BACKLOG; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => {});
      fillers.push(s);
      // each of these must complete (the queue has room); a hang here is a failure, not a pass
      await Promise.race([
        once(s, 'connect'),
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error(`filler connection ${i} did not complete`)), 5000).unref(),
        ),
      ]);
      s.unref();
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { address: `127.0.0.1:${port}`, port, close };
}
