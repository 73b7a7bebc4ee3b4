/**
 * `http-auto-gzip` body encoder (spec: http-router.md §8): the node's body is gzip-
 * compressed on the fly and sent chunk-encoded. Byte layout as uWSGI's: the first chunk
 * is the 10-byte gzip header `1f 8b 08 00 00 00 00 00 00 03` + the raw-deflate output of
 * the first read; every later read gives one chunk of sync-flushed deflate output (so the
 * client can decode each piece at once); at the end a chunk with the final deflate block,
 * a chunk with the 8-byte trailer (CRC32 LE, size mod 2^32 LE), then `0\r\n\r\n`.
 *
 * zlib runs off-thread in Node, so `write`/`end` resolve with the buffers to send; calls
 * are serialised internally. Payload buffers are not copied (see chunked.ts).
 */
import { constants, crc32, createDeflateRaw, type DeflateRaw } from 'node:zlib';
import { frameChunk, LAST_CHUNK } from './chunked.ts';

export const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03]);

export interface GzipEncoderOptions {
  /** zlib level (default: zlib's default, 6; uWSGI uses the zlib default too) */
  level?: number;
}

export class GzipChunkedEncoder {
  private readonly deflate: DeflateRaw;
  private crc = 0;
  private size = 0;
  private headerSent = false;
  private ended = false;
  private tail: Promise<unknown> = Promise.resolve();
  private failure: Error | null = null;
  /** output read so far; drained continuously so zlib never stalls on a full buffer */
  private pending: Buffer[] = [];

  constructor(options: GzipEncoderOptions = {}) {
    this.deflate = createDeflateRaw({ level: options.level ?? constants.Z_DEFAULT_COMPRESSION });
    this.deflate.on('error', (err: Error) => {
      this.failure = err;
    });
    this.deflate.on('readable', () => this.collect());
  }

  /** Compresses one body piece; resolves with the chunk-framed buffers to write (maybe none). */
  write(data: Buffer): Promise<Buffer[]> {
    return this.enqueue(async () => {
      if (this.ended) return [];
      if (data.length === 0) return [];
      this.crc = crc32(data, this.crc);
      this.size = (this.size + data.length) >>> 0;
      this.deflate.write(data);
      const out = await this.flush(constants.Z_SYNC_FLUSH);
      return this.frame(out);
    });
  }

  /** Finishes the stream: final block, trailer, last chunk. */
  end(): Promise<Buffer[]> {
    return this.enqueue(async () => {
      if (this.ended) return [];
      this.ended = true;
      const last = await this.finish();
      const trailer = Buffer.allocUnsafe(8);
      trailer.writeUInt32LE(this.crc >>> 0, 0);
      trailer.writeUInt32LE(this.size, 4);
      return [...this.frame(last), ...frameChunk(trailer), LAST_CHUNK];
    });
  }

  /** Frees zlib resources (client gone). */
  destroy(): void {
    this.ended = true;
    this.deflate.destroy();
  }

  private enqueue(work: () => Promise<Buffer[]>): Promise<Buffer[]> {
    const run = this.tail.then(work, work);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private frame(out: Buffer): Buffer[] {
    if (!this.headerSent) {
      this.headerSent = true;
      return frameChunk(out.length === 0 ? GZIP_HEADER : Buffer.concat([GZIP_HEADER, out]));
    }
    return frameChunk(out);
  }

  private collect(): void {
    let b = this.deflate.read() as Buffer | null;
    while (b !== null) {
      this.pending.push(b);
      b = this.deflate.read() as Buffer | null;
    }
  }

  /** everything produced so far, in order */
  private drain(): Buffer {
    this.collect();
    const parts = this.pending;
    this.pending = [];
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  private flush(kind: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.deflate.flush(kind, () => {
        if (this.failure) reject(this.failure);
        else resolve(this.drain());
      });
    });
  }

  private finish(): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.deflate.once('end', () => resolve(this.drain()));
      this.deflate.once('error', reject);
      this.deflate.end();
    });
  }
}
