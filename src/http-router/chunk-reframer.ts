/**
 * Re-chunks a chunked request body for an HTTP node (DESIGN.md: framing belongs to the
 * router). The body pump validates the client's chunked framing and writes what it
 * accepted here; the node gets canonical framing only — `HEX CR LF data CR LF` per piece
 * and a bare `0 CR LF CR LF` — without chunk extensions, size-line whitespace, leading
 * zeros or trailers. Parsers disagree on exactly those (Node's llhttp refuses `5 \r\n`
 * and `5;\r\n`, others accept them differently), and any disagreement about where a body
 * ends is a smuggling channel on a pooled connection. Trailers are dropped (RFC 9110
 * §6.5.1 lets a recipient discard them).
 */
import type { Socket } from 'node:net';
import { CHUNK_END, ChunkedBodyParser, chunkHeader, LAST_CHUNK } from './chunked.ts';
import type { BodySink } from './request-body.ts';

export class ChunkReframer implements BodySink {
  private readonly parser: ChunkedBodyParser;
  private backend: Socket | null = null;
  /** the node's write buffer took every piece of the current write */
  private roomy = true;

  constructor() {
    // the same bounds as the pump's parser: it sees only bytes the pump already accepted
    this.parser = new ChunkedBodyParser({ onData: this.onPayload });
  }

  /** A new chunked body to `backend`. */
  begin(backend: Socket): ChunkReframer {
    this.backend = backend;
    this.parser.reset();
    return this;
  }

  /** Validated chunked bytes from the pump; false when the node's buffer is full. */
  write(data: Buffer): boolean {
    const backend = this.backend;
    if (backend === null) return true;
    this.roomy = true;
    backend.cork();
    const r = this.parser.push(data);
    if (r.state === 'done') {
      if (!backend.write(LAST_CHUNK)) this.roomy = false;
      this.backend = null;
    }
    backend.uncork();
    return this.roomy;
  }

  private readonly onPayload = (payload: Buffer): void => {
    const backend = this.backend!;
    backend.write(chunkHeader(payload.length));
    backend.write(payload);
    if (!backend.write(CHUNK_END)) this.roomy = false;
  };
}
