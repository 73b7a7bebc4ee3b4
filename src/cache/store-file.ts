/**
 * A cache's persistent file (`store=FILE`, `--cache-store`). uWSGI maps its shared-memory
 * image onto the file; uwrouter has no such image, so the file is its own format, written
 * whole (to FILE.tmp, then renamed: a crash never leaves half a file) every `store_sync`
 * seconds when the cache changed, and when uwrouter stops:
 *
 *   "UWRCACHE1\n", then per item: u16be klen, key, u32be vlen, value, u32be hi + u32be lo
 *   of the absolute expiry (0 = never)
 *
 * At start the live items are loaded back (expired ones skipped). A file that is not in this
 * format stops the start (as uWSGI's "invalid cache store file"), unless `store_delete`,
 * which starts empty and replaces it.
 */
import { existsSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { UwsgiCache } from './cache.ts';

const MAGIC = Buffer.from('UWRCACHE1\n', 'latin1');
/** bytes gathered before one write() */
const WRITE_CHUNK = 256 * 1024;

export interface LoadedItem {
  key: Buffer;
  value: Buffer;
  expires: number;
}

export type StoreParseResult = { ok: true; items: LoadedItem[] } | { ok: false; error: string };

/** Parses a store file's bytes. Pure. */
export function parseStoreFile(buf: Buffer): StoreParseResult {
  if (buf.length < MAGIC.length || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    return { ok: false, error: 'not a uwrouter cache store file' };
  }
  const items: LoadedItem[] = [];
  let at = MAGIC.length;
  while (at < buf.length) {
    if (at + 2 > buf.length) return { ok: false, error: `damaged at byte ${at}` };
    const klen = buf.readUInt16BE(at);
    at += 2;
    if (at + klen + 4 > buf.length) return { ok: false, error: `damaged at byte ${at}` };
    const key = buf.subarray(at, at + klen);
    at += klen;
    const vlen = buf.readUInt32BE(at);
    at += 4;
    if (at + vlen + 8 > buf.length) return { ok: false, error: `damaged at byte ${at}` };
    const value = buf.subarray(at, at + vlen);
    at += vlen;
    const expires = buf.readUInt32BE(at) * 2 ** 32 + buf.readUInt32BE(at + 4);
    at += 8;
    items.push({ key, value, expires });
  }
  return { ok: true, items };
}

function record(key: string, value: Buffer, expires: number): Buffer {
  const k = Buffer.from(key, 'latin1');
  const head = Buffer.allocUnsafe(2 + k.length + 4);
  head.writeUInt16BE(k.length, 0);
  k.copy(head, 2);
  head.writeUInt32BE(value.length, 2 + k.length);
  const tail = Buffer.allocUnsafe(8);
  tail.writeUInt32BE(Math.floor(expires / 2 ** 32), 0);
  tail.writeUInt32BE(expires % 2 ** 32, 4);
  return Buffer.concat([head, value, tail]);
}

export class CacheStoreFile {
  private readonly path: string;
  private readonly cache: UwsgiCache;
  private readonly log: Logger;
  private writtenAt = -1;
  private writing: Promise<void> | undefined;

  constructor(path: string, cache: UwsgiCache, log: Logger) {
    this.path = path;
    this.cache = cache;
    this.log = log;
  }

  /** Loads the file into the cache (at start, before anything else writes it). */
  load(storeDelete: boolean): void {
    const name = this.cache.name;
    if (!existsSync(this.path)) {
      this.log.info(`creating a new cache store file: ${this.path}`);
      this.writtenAt = this.cache.changes - 1;
      return;
    }
    let parsed: StoreParseResult;
    try {
      if (!statSync(this.path).isFile()) parsed = { ok: false, error: 'not a regular file' };
      else parsed = parseStoreFile(readFileSync(this.path));
    } catch (e) {
      throw new ConfigError(
        `cache "${name}": cannot read store file "${this.path}": ${(e as NodeJS.ErrnoException).code ?? e}`,
      );
    }
    if (!parsed.ok) {
      if (!storeDelete) {
        throw new ConfigError(
          `cache "${name}": invalid cache store file "${this.path}" (${parsed.error}); remove it, or give store_delete=1 to replace it`,
        );
      }
      this.log.warn(`Removing invalid cache store file: ${this.path} (${parsed.error})`);
      try {
        unlinkSync(this.path);
      } catch (e) {
        throw new ConfigError(
          `Cannot remove invalid cache store file: ${this.path}: ${(e as NodeJS.ErrnoException).code ?? e}`,
        );
      }
      return;
    }
    let restored = 0;
    let skipped = 0;
    for (const it of parsed.items) {
      const r = this.cache.applyDelta({ op: 'set', key: it.key, value: it.value, expires: it.expires });
      if (r === 'ok') restored++;
      else if (r !== 'expired') skipped++;
    }
    this.log.info(`recovered cache from backing store file: ${this.path}`);
    this.log.info(`[uwsgi-cache] restored ${restored} items`);
    if (skipped > 0) {
      this.log.warn(
        `cache "${name}": ${skipped} items of "${this.path}" did not fit the cache as configured now (items, keysize, blocksize) and were dropped`,
      );
    }
    this.writtenAt = this.cache.changes;
  }

  /** Writes the file if the cache changed since the last write; one write at a time. */
  async flush(): Promise<void> {
    if (this.writing !== undefined) await this.writing;
    if (this.cache.changes === this.writtenAt) return;
    this.writing = this.write().finally(() => {
      this.writing = undefined;
    });
    await this.writing;
  }

  private async write(): Promise<void> {
    const changes = this.cache.changes;
    const tmp = `${this.path}.tmp`;
    let fh: Awaited<ReturnType<typeof open>> | undefined;
    try {
      fh = await open(tmp, 'w', 0o600);
      const parts: Buffer[] = [MAGIC];
      let size = MAGIC.length;
      // a snapshot of references, taken at once: values are never changed in place (an
      // update stores a new Buffer), so what is written is the cache as it was now
      const snapshot = [...this.cache.entries()];
      for (const it of snapshot) {
        const r = record(it.key, it.value, it.expires);
        parts.push(r);
        size += r.length;
        if (size >= WRITE_CHUNK) {
          await fh.write(Buffer.concat(parts, size));
          parts.length = 0;
          size = 0;
        }
      }
      if (size > 0) await fh.write(Buffer.concat(parts, size));
      await fh.sync();
      await fh.close();
      fh = undefined;
      await rename(tmp, this.path);
      this.writtenAt = changes;
    } catch (e) {
      await fh?.close().catch(() => {});
      await unlink(tmp).catch(() => {});
      this.log.error(
        `cache "${this.cache.name}": cannot write store file "${this.path}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
  }
}
