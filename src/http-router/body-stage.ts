/**
 * A request's body before any node has it (spec: http-router.md §5): the `100 Continue`
 * owed to an `Expect: 100-continue` request, sent once when the body is wanted (by a uwsgi
 * node, or by the store) and only if the body is not all in already (RFC 9110 §10.1.1), and
 * a chunked body stored de-chunked (corerouter/stored-body.ts) so that it is routed with its length.
 */
import type { Socket } from 'node:net';
import { type StoredBodyOwner, StoredRequestBody } from '../corerouter/stored-body.ts';
import { CONTINUE_100 } from './error-response.ts';
import type { HttpRouterSettings } from './settings.ts';
import { chunkedFraming } from './stored-body.ts';

export class BodyStage {
  private readonly client: Socket;
  private readonly owner: StoredBodyOwner;
  private readonly settings: HttpRouterSettings;
  /** a chunked body de-chunked before routing (null: streamed, or none) */
  stored: StoredRequestBody | null = null;
  private continueDue = false;

  constructor(client: Socket, owner: StoredBodyOwner, settings: HttpRouterSettings) {
    this.client = client;
    this.owner = owner;
    this.settings = settings;
  }

  /** A new request: whether a `100 Continue` is owed when its body is wanted. */
  expect(continueDue: boolean): void {
    this.continueDue = continueDue;
  }

  /** Writes the owed `100 Continue` (once), unless the `length`-byte body is in (`have`). */
  sendContinue(length: number, have: number): void {
    if (!this.continueDue) return;
    this.continueDue = false;
    if (length >= 0 && have >= length) return;
    this.client.write(CONTINUE_100);
  }

  /** Stores the chunked body: `first` came with the head, the rest is read from the client. */
  store(first: Buffer): void {
    const s = this.settings;
    // the body is wanted now, before any node is chosen
    this.sendContinue(-1, 0);
    this.stored = new StoredRequestBody(
      this.client,
      this.owner,
      { memoryLimit: s.bodyBufferSize, dir: s.bodyTempDir },
      chunkedFraming(s.maxStoredBody),
    );
    this.stored.start(first);
  }

  /** The request is over (or failed): the stored body goes. */
  drop(): void {
    this.stored?.discard();
    this.stored = null;
  }
}
