import { DiskDrift } from '@internal/plugin-stage-manager-common';
import {
  HypervisorDriver,
  PoolLocation,
} from '@internal/plugin-stage-manager-node';
import { hashDisk } from '../archives/ChunkRepository';
import { withServedDisk } from '../archives/servedDisk';
import { chunkSignatures, compareChunkLists } from './diskDrift';

/** A disk of a pool on a driver. */
export interface DiskRef {
  driver: HypervisorDriver;
  pool: PoolLocation;
  disk: { name: string; path: string };
}

/**
 * What a scan knows of a disk: its size, where each chunk's bytes come from, and the chunk
 * hashes read so far.
 */
interface DiskView {
  virtualSizeBytes: number;
  signatures: Array<string | undefined>;
  hashes: Map<number, string | null>;
}

/** Disk views by driver and path, shared by the scans of one run (production is read once). */
export type ChunkListCache = Map<string, Promise<DiskView>>;

/** A disk's size and chunk signatures (from the driver's map: no data read). */
function view(
  ref: DiskRef,
  chunkSize: number,
  cache: ChunkListCache,
): Promise<DiskView> {
  const key = `${ref.driver.id}:${ref.disk.path}`;
  let found = cache.get(key);
  if (!found) {
    found = withServedDisk(
      ref.driver,
      { pool: ref.pool, disk: ref.disk.name },
      async source => {
        const hashes = new Map<number, string | null>();
        // Without layer information every chunk has to be read anyway: read it now.
        if (!source.extents) {
          (await hashDisk(source, chunkSize)).forEach((h, i) =>
            hashes.set(i, h),
          );
        }
        return {
          virtualSizeBytes: source.sizeBytes,
          signatures: chunkSignatures(
            source.extents,
            chunkSize,
            Math.ceil(source.sizeBytes / chunkSize),
          ),
          hashes,
        };
      },
    );
    cache.set(key, found);
  }
  return found;
}

/** Reads and hashes the chunks of a disk it has not hashed yet. */
async function hash(
  ref: DiskRef,
  v: DiskView,
  chunkSize: number,
  indexes: number[],
) {
  const missing = new Set(indexes.filter(i => !v.hashes.has(i)));
  if (missing.size === 0) return;
  const chunks = await withServedDisk(
    ref.driver,
    { pool: ref.pool, disk: ref.disk.name },
    source => hashDisk(source, chunkSize, { wanted: i => missing.has(i) }),
  );
  for (const i of missing) v.hashes.set(i, chunks[i] ?? null);
}

/**
 * Compares a copy's disk with its production counterpart chunk by chunk: chunks whose bytes
 * come from the same places of the same read-only layers are equal without reading them
 * (linked clones share their frozen layers); the others are read on both sides over the
 * driver's NBD export and hashed (sha256, as the archive chunker does).
 */
export async function compareDisks(options: {
  production: DiskRef;
  copy: DiskRef;
  machine: string;
  disk: string;
  chunkSizeBytes: number;
  cache: ChunkListCache;
}): Promise<DiskDrift> {
  const { chunkSizeBytes: size, cache } = options;
  const [pv, cv] = await Promise.all([
    view(options.production, size, cache),
    view(options.copy, size, cache),
  ]);
  const count = Math.max(pv.signatures.length, cv.signatures.length);
  const shared = (i: number) =>
    pv.signatures[i] !== undefined && pv.signatures[i] === cv.signatures[i];
  const needed = Array.from({ length: count }, (_, i) => i).filter(
    i => !shared(i),
  );
  await hash(
    options.production,
    pv,
    size,
    needed.filter(i => i < pv.signatures.length),
  );
  await hash(
    options.copy,
    cv,
    size,
    needed.filter(i => i < cv.signatures.length),
  );
  const list = (v: DiskView) =>
    v.signatures.map((_, i) => (shared(i) ? 'shared' : v.hashes.get(i)!));
  return {
    ...compareChunkLists({
      machine: options.machine,
      disk: options.disk,
      chunkSizeBytes: size,
      production: { virtualSizeBytes: pv.virtualSizeBytes, chunks: list(pv) },
      copy: { virtualSizeBytes: cv.virtualSizeBytes, chunks: list(cv) },
    }),
    chunksRead: needed.length,
  };
}
