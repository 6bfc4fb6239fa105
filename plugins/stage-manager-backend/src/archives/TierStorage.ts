import { NotFoundError } from '@backstage/errors';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Where a storage tier keeps objects: a flat key space of immutable objects. Chunks are written
 * once under a key that names their content and generation and never modified, so any store
 * that can put, get, delete and list whole objects can be a tier (a folder today; an S3-style
 * bucket fits the same interface).
 */
export interface TierStorage {
  /** For people: where the tier stores (a folder, a bucket URL). */
  readonly location: string;
  /**
   * Writes an object atomically and durably: readers see all of it or nothing, and once this
   * resolves the object survives a crash. Overwrites are allowed.
   */
  put(key: string, data: Buffer): Promise<void>;
  /** Reads an object; a missing one is a `NotFoundError`. */
  get(key: string): Promise<Buffer>;
  /** Deletes an object; a missing one is fine. */
  delete(key: string): Promise<void>;
  /** Every key starting with `prefix`. */
  list(prefix: string): AsyncIterable<string>;
  /**
   * Where an object lives as a local file, for tiers that keep files this process can read
   * (then chunk workers read them themselves instead of passing every byte through `get`).
   */
  localPath?(key: string): string;
}

const KEY = /^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/;

function checkKey(key: string): string {
  if (!KEY.test(key) || key.includes('..')) {
    throw new Error(`Invalid object key '${key}'`);
  }
  return key;
}

/** Makes a folder's entries (a rename, a new file) durable. */
async function syncFolder(dir: string) {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A tier in a folder: one file per object, written to a temporary name and renamed. */
export class FileTierStorage implements TierStorage {
  readonly location: string;

  constructor(root: string) {
    this.location = path.resolve(root);
  }

  private file(key: string) {
    return path.join(this.location, ...checkKey(key).split('/'));
  }

  localPath(key: string): string {
    return this.file(key);
  }

  async put(key: string, data: Buffer): Promise<void> {
    const file = this.file(key);
    const dir = path.dirname(file);
    const tmp = `${file}.${randomBytes(6).toString('hex')}.partial`;
    try {
      // `flush`: the bytes are on disk before the file is closed (and renamed into place).
      try {
        await fs.writeFile(tmp, data, { flush: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        // The folder does not exist yet: make it once (not before every write).
        await fs.mkdir(dir, { recursive: true });
        await syncFolder(path.dirname(dir));
        await fs.writeFile(tmp, data, { flush: true });
      }
      await fs.rename(tmp, file);
    } catch (error) {
      await fs.rm(tmp, { force: true });
      throw error;
    }
    // And the new name: once this resolves the object survives a crash, so the catalog may
    // say it is stored.
    await syncFolder(dir);
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await fs.readFile(this.file(key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new NotFoundError(`No object ${key} in ${this.location}`);
      }
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await fs.rm(this.file(key), { force: true });
  }

  async *list(prefix: string): AsyncIterable<string> {
    const walk = async function* walk(
      dir: string,
      rel: string,
    ): AsyncIterable<string> {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      entries.sort((a, b) => a.name.localeCompare(b.name));
      for (const e of entries) {
        const key = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) {
          if (prefix.startsWith(`${key}/`) || key.startsWith(prefix)) {
            yield* walk(path.join(dir, e.name), key);
          }
        } else if (
          e.isFile() &&
          key.startsWith(prefix) &&
          !e.name.endsWith('.partial')
        ) {
          yield key;
        }
      }
    };
    yield* walk(this.location, '');
  }
}
