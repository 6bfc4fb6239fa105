import { NotFoundError } from '@backstage/errors';
import { ArchiveVerification } from '@internal/plugin-stage-manager-common';
import { DiskExtent, DiskRange } from '@internal/plugin-stage-manager-node';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { ArchiveTierConfig } from '../config/StageManagerConfig';
import { ArchiveDiskManifest, ChunkState } from '../database/ArchiveStore';
import { StageManagerStore } from '../database/StageManagerStore';
import { nowIso } from '../database/util';
import { ChunkCodec, ChunkCodecError } from './ChunkCodec';
import { Extent, ExtentsAt, ReadResult } from './NbdExport';
import { TierStorage } from './TierStorage';

/** A reused shared buffer a restore decompresses chunks into (see `diskReader`). */
interface Slot {
  memory: Buffer;
  /** The cache, a load in progress, and unsent replies that use it. */
  users: number;
}

interface CachedChunk {
  /** Absent for zero chunks. */
  slot?: Slot;
  loading: Promise<Buffer>;
}

/** A configured tier and where it stores. */
export interface Tier {
  config: ArchiveTierConfig;
  storage: TierStorage;
}

/** A chunk that is missing or does not match its hash. Names where it is used. */
export class ArchiveDamagedError extends Error {
  readonly name = 'ArchiveDamagedError';
}

/** Chunks read, hashed and pinned per round; the next round is read while one is pinned. */
const BATCH = 16;
/** Batches of a disk being archived in memory at once (read, pinned, compressed, written). */
const BUFFER_SETS = 4;
/** The most bytes one read of a disk being archived asks for (adjacent chunks are read at once). */
const MAX_READ_BYTES = 4 * 1024 * 1024;
/** Chunks a restore has in flight at once. */
const PARALLEL_READS = 8;
/** Decompressed chunks a disk reader keeps, and how many it reads ahead of a request. */
const READER_CACHE_CHUNKS = 32;
const READ_AHEAD = 4;

/** Bytes of chunk `i` of a disk (the last one may be short). */
function chunkLength(disk: ArchiveDiskManifest, i: number): number {
  return Math.min(
    disk.chunkSizeBytes,
    disk.virtualSizeBytes - i * disk.chunkSizeBytes,
  );
}

/** Where a chunk is used, for error messages. */
function chunkPlace(archiveId: string, disk: ArchiveDiskManifest, i: number) {
  return `archive ${archiveId}, machine ${disk.machine}, disk ${disk.disk}, chunk ${i}`;
}

/** The distinct chunks of an archive's disks with their lengths. */
function chunkLengths(disks: ArchiveDiskManifest[]): Map<string, number> {
  const lengths = new Map<string, number>();
  for (const d of disks) {
    d.chunks.forEach((hash, i) => {
      if (hash) lengths.set(hash, chunkLength(d, i));
    });
  }
  return lengths;
}

/** The object key of a chunk's file of one generation. */
export function chunkKey(hash: string, generation: number): string {
  return `chunks/${hash.slice(0, 2)}/${hash}.${generation}`;
}

function parseChunkKey(
  key: string,
): { hash: string; generation: number } | undefined {
  const m = /^chunks\/[0-9a-f]{2}\/([0-9a-f]{64})\.(\d+)$/.exec(key);
  return m ? { hash: m[1], generation: Number(m[2]) } : undefined;
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** sha256 of a chunk, hex, on the calling thread (about 0.6 ms per MiB). */
function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A disk to archive: its size, how to read it, and where it may hold data. */
export interface DiskSource {
  sizeBytes: number;
  /** Fills `buffer` with the disk's bytes from `offset`; reads may run concurrently. */
  read(buffer: Buffer, offset: number): Promise<void>;
  /** Ranges that may hold data, ascending; every byte outside reads as zero. Absent: anywhere. */
  dataRanges?: DiskRange[];
  /** Where the data lives, when the driver knows (see `DiskServer.extents`). */
  extents?: DiskExtent[];
}

/** The first and last chunk a byte range overlaps (first > last for an empty range). */
export function chunkSpan(
  range: DiskRange,
  chunkSize: number,
  chunkCount: number,
): [number, number] {
  if (range.length <= 0) return [1, 0];
  return [
    Math.floor(range.offset / chunkSize),
    Math.min(
      chunkCount - 1,
      Math.floor((range.offset + range.length - 1) / chunkSize),
    ),
  ];
}

/** Whether chunk `i` of a disk overlaps one of its data ranges. */
export function chunksWithData(
  ranges: DiskRange[] | undefined,
  chunkSize: number,
  chunkCount: number,
): (i: number) => boolean {
  if (!ranges) return () => true;
  const marked = new Uint8Array(chunkCount);
  for (const r of ranges) {
    const [first, last] = chunkSpan(r, chunkSize, chunkCount);
    for (let i = first; i <= last; i++) marked[i] = 1;
  }
  return i => marked[i] === 1;
}

/**
 * The runs of an archived disk from `offset`, up to `length` bytes: one per chunk (zero chunks
 * read as zeros); the NBD export merges adjacent ones.
 */
export function diskExtents(
  disk: Pick<
    ArchiveDiskManifest,
    'chunks' | 'chunkSizeBytes' | 'virtualSizeBytes'
  >,
  offset: number,
  length: number,
): Extent[] {
  const end = Math.min(offset + length, disk.virtualSizeBytes);
  const runs: Extent[] = [];
  for (let at = offset; at < end; ) {
    const i = Math.floor(at / disk.chunkSizeBytes);
    const to = Math.min(end, (i + 1) * disk.chunkSizeBytes);
    runs.push({ length: to - at, zero: !disk.chunks[i] });
    at = to;
  }
  return runs;
}

/**
 * Reads the chunks `start..start+BATCH` of a disk that may hold data into `buffer` (room for a
 * batch), adjacent chunks in one request of up to MAX_READ_BYTES. Answers each chunk read.
 */
async function readChunkBatch(
  source: DiskSource,
  buffer: Buffer,
  start: number,
  chunkSize: number,
  mayHoldData: (i: number) => boolean,
): Promise<Array<{ i: number; data: Buffer }>> {
  const size = source.sizeBytes;
  const end = Math.min(Math.ceil(size / chunkSize), start + BATCH);
  const wanted: number[] = [];
  const reads: Array<Promise<void>> = [];
  for (let i = start; i < end; i++) {
    if (!mayHoldData(i)) continue;
    wanted.push(i);
    const runStart = i;
    while (
      i + 1 < end &&
      mayHoldData(i + 1) &&
      (i + 1 - runStart) * chunkSize < MAX_READ_BYTES
    ) {
      wanted.push(++i);
    }
    const from = runStart * chunkSize;
    const to = Math.min(size, (i + 1) * chunkSize);
    const at = (runStart - start) * chunkSize;
    reads.push(source.read(buffer.subarray(at, at + to - from), from));
  }
  await Promise.all(reads);
  return wanted.map(i => ({
    i,
    data: buffer.subarray(
      (i - start) * chunkSize,
      (i - start) * chunkSize + Math.min(chunkSize, size - i * chunkSize),
    ),
  }));
}

/**
 * The chunk list of a disk as an archive would record it (sha256 per chunk, null for a zero
 * chunk) without storing anything: what drift scans compare. Reads the next batch while it
 * hashes one.
 */
export async function hashDisk(
  source: DiskSource,
  chunkSize: number,
  options: {
    signal?: AbortSignal;
    /** Only these chunks (the others are answered null). */
    wanted?: (i: number) => boolean;
  } = {},
): Promise<Array<string | null>> {
  const { signal, wanted } = options;
  const chunkCount = Math.ceil(source.sizeBytes / chunkSize);
  const chunks: Array<string | null> = new Array(chunkCount).fill(null);
  const withData = chunksWithData(source.dataRanges, chunkSize, chunkCount);
  const mayHoldData = wanted
    ? (i: number) => wanted(i) && withData(i)
    : withData;
  const zero = Buffer.alloc(chunkSize);
  const buffers = [0, 1].map(() => Buffer.allocUnsafe(BATCH * chunkSize));
  let reading = readChunkBatch(source, buffers[0], 0, chunkSize, mayHoldData);
  for (let start = 0, k = 0; start < chunkCount; start += BATCH, k++) {
    signal?.throwIfAborted();
    const read = await reading;
    if (start + BATCH < chunkCount) {
      reading = readChunkBatch(
        source,
        buffers[(k + 1) % 2],
        start + BATCH,
        chunkSize,
        mayHoldData,
      );
      reading.catch(() => undefined);
    }
    for (const { i, data } of read) {
      if (!data.equals(zero.subarray(0, data.length))) chunks[i] = sha256(data);
    }
  }
  return chunks;
}

/** What a disk became in a tier. */
export interface StoredDisk {
  virtualSizeBytes: number;
  chunkSizeBytes: number;
  chunkCount: number;
  zeroChunks: number;
  dataBytes: number;
  chunks: Array<string | null>;
  /** Compressed bytes this disk added to the tier (chunks the tier did not have). */
  addedBytes: number;
}

/**
 * The archives' chunk store: splits raw disk images into fixed-size chunks, stores each distinct
 * chunk once per tier (content-addressed by sha256, zstd-compressed at the tier's level), counts
 * references per archive, reads disks back verifying every chunk, moves chunks between tiers and
 * collects chunks no archive references.
 *
 * Safe with concurrent writers and a collector on any replica: a writer takes its reference on a
 * chunk before it looks at the chunk's file, and a chunk that lost its last reference starts a
 * new file generation when it is used again, so a collector only ever deletes files of a
 * generation nobody can still be writing or reading.
 */
export class ChunkRepository {
  private readonly tiers: Map<string, Tier>;

  constructor(
    private readonly deps: {
      store: StageManagerStore;
      tiers: Tier[];
      chunkSizeBytes: number;
      /** Hashing and (de)compression off the event loop; default: a codec of its own. */
      codec?: ChunkCodec;
    },
  ) {
    this.tiers = new Map(deps.tiers.map(t => [t.config.name, t]));
    this.codec = deps.codec ?? new ChunkCodec();
  }

  private readonly codec: ChunkCodec;

  /** The tier names, hottest first. */
  tierNames(): string[] {
    return this.deps.tiers.map(t => t.config.name);
  }

  tier(name: string): Tier {
    const tier = this.tiers.get(name);
    if (!tier) {
      throw new NotFoundError(
        `Archive tier '${name}' is not configured (${this.tierNames().join(
          ', ',
        )})`,
      );
    }
    return tier;
  }

  /**
   * Stores a disk in a tier under an archive's references, read from a raw image file or from a
   * `DiskSource` (the driver's NBD export). Idempotent: running it again for the same archive
   * stores nothing twice.
   */
  async writeDisk(
    options: {
      archiveId: string;
      tier: string;
      signal?: AbortSignal;
    } & ({ file: string } | { source: DiskSource }),
  ): Promise<StoredDisk> {
    if ('source' in options) return this.storeDisk(options, options.source);
    const handle = await fs.open(options.file, 'r');
    try {
      return await this.storeDisk(options, {
        sizeBytes: (await handle.stat()).size,
        read: (buffer, offset) => readFully(handle, buffer, offset),
      });
    } finally {
      await handle.close();
    }
  }

  private async storeDisk(
    options: { archiveId: string; tier: string; signal?: AbortSignal },
    source: DiskSource,
  ): Promise<StoredDisk> {
    const tier = this.tier(options.tier);
    const chunkSize = this.deps.chunkSizeBytes;
    const zero = Buffer.alloc(chunkSize);
    const size = source.sizeBytes;
    const chunkCount = Math.ceil(size / chunkSize);
    const chunks: Array<string | null> = new Array(chunkCount).fill(null);
    const mayHoldData = chunksWithData(
      source.dataRanges,
      chunkSize,
      chunkCount,
    );
    let dataBytes = 0;
    let addedBytes = 0;
    // Reused read buffers of a batch each (a fresh 1 MiB buffer per chunk made garbage
    // collection the main cost): one being read into, one being hashed and pinned, the others
    // being compressed and written in the background. Shared memory, so the codec's workers
    // hash and compress the chunks where they are.
    const buffers = Array.from({ length: BUFFER_SETS }, () =>
      Buffer.from(new SharedArrayBuffer(BATCH * chunkSize)),
    );
    const writing: Array<Promise<number>> = buffers.map(() =>
      Promise.resolve(0),
    );
    /** Chunks this disk already writes: a chunk seen again in a later batch is written once. */
    const scheduled = new Set<string>();
    const readBatch = (start: number, buffer: Buffer) =>
      readChunkBatch(source, buffer, start, chunkSize, mayHoldData);

    /** Waits for the batch that last used a buffer set, then reads the next batch into it. */
    const nextBatch = async (start: number, set: number) => {
      addedBytes += await writing[set];
      writing[set] = Promise.resolve(0);
      return readBatch(start, buffers[set]);
    };

    let reading: Promise<Array<{ i: number; data: Buffer }>> = Promise.resolve(
      [],
    );
    try {
      reading = nextBatch(0, 0);
      for (let start = 0, k = 0; start < chunkCount; start += BATCH, k++) {
        options.signal?.throwIfAborted();
        const read = await reading;
        if (start + BATCH < chunkCount) {
          reading = nextBatch(start + BATCH, (k + 1) % BUFFER_SETS);
          reading.catch(() => undefined);
        }
        const withData = read.filter(
          ({ data }) => !data.equals(zero.subarray(0, data.length)),
        );
        const hashes = await Promise.all(
          withData.map(({ data }) => this.codec.hash(data)),
        );
        const batch: Array<{ hash: string; data: Buffer }> = [];
        withData.forEach(({ i, data }, n) => {
          chunks[i] = hashes[n];
          batch.push({ hash: hashes[n], data });
        });
        dataBytes += sum(withData.map(({ data }) => data.length));
        if (batch.length === 0) continue;
        // Pinned in order, one batch at a time; compressed and written in the background.
        const states = await this.deps.store.transaction(stores =>
          stores.archives.pinChunks(
            options.archiveId,
            tier.config.name,
            batch.map(c => ({ hash: c.hash, rawBytes: c.data.length })),
            nowIso(),
          ),
        );
        const missing = states.filter(
          st => !st.stored && !scheduled.has(st.hash),
        );
        missing.forEach(st => scheduled.add(st.hash));
        // The batch's chunks are not read again once hashed: frames may take their place.
        writing[k % BUFFER_SETS] = this.writeMissing(
          tier,
          missing,
          new Map(batch.map(c => [c.hash, c.data])),
          { inPlace: true },
        );
        // Keep a rejection observed until it is awaited.
        writing[k % BUFFER_SETS].catch(() => undefined);
      }
    } catch (error) {
      // Nothing may still read into the buffers or write into the tier when this throws.
      await Promise.allSettled([reading, ...writing]);
      throw error;
    }
    for (const w of writing) addedBytes += await w;
    const zeroChunks = chunkCount - chunks.filter(Boolean).length;
    return {
      virtualSizeBytes: size,
      chunkSizeBytes: chunkSize,
      chunkCount,
      zeroChunks,
      dataBytes,
      chunks,
      addedBytes,
    };
  }

  /** Compresses and writes the chunk files a tier does not have yet, and records them. */
  private async writeMissing(
    tier: Tier,
    states: ChunkState[],
    data: Map<string, Buffer>,
    options: { inPlace?: boolean } = {},
  ): Promise<number> {
    // Settled all before failing: no frame may still be written when this rejects.
    const settled = await Promise.allSettled(
      states
        .filter(s => !s.stored)
        .map(async s => {
          const { frame, hash } = await this.codec.compress(
            data.get(s.hash)!,
            tier.config.compressionLevel,
            { inPlace: options.inPlace },
          );
          await tier.storage.put(chunkKey(s.hash, s.generation), frame);
          return { ...s, bytes: frame.length, frameHash: hash };
        }),
    );
    const failed = settled.find(r => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const written = settled.flatMap(r =>
      r.status === 'fulfilled' ? [r.value] : [],
    );
    if (written.length === 0) return 0;
    // One transaction for the batch: one commit (and on SQLite one sync) instead of one per chunk.
    await this.deps.store.transaction(async stores => {
      for (const w of written) {
        await stores.archives.markStored(
          tier.config.name,
          w.hash,
          w.generation,
          w.bytes,
          w.frameHash,
        );
      }
    });
    return written.reduce((n, w) => n + w.bytes, 0);
  }

  /**
   * Reads one chunk of a tier and checks it: against the sha256 of its file when the catalog
   * has it (the frame is what can be damaged; zstd checks its content checksum while
   * decompressing), against its content hash otherwise. With `into` (shared memory) the chunk
   * is decompressed there.
   */
  private async readChunk(
    tier: Tier,
    state: ChunkState | undefined,
    hash: string,
    expectedLength: number | undefined,
    where: () => string,
    into?: Uint8Array,
  ): Promise<Buffer> {
    if (!state) {
      throw new ArchiveDamagedError(
        `Chunk ${hash} (${where()}) is missing from tier ${
          tier.config.name
        }'s catalog`,
      );
    }
    const key = chunkKey(hash, state.generation);
    const missing = () =>
      new ArchiveDamagedError(
        `Chunk ${hash} (${where()}) is missing: no ${key} in ${
          tier.storage.location
        }`,
      );
    let frame: Uint8Array | { file: string };
    const file = tier.storage.localPath?.(key);
    if (file) {
      // The worker reads the file: its bytes never pass through this thread.
      frame = { file };
    } else {
      try {
        frame = await tier.storage.get(key);
      } catch (error) {
        if ((error as Error).name === 'NotFoundError') throw missing();
        throw error;
      }
    }
    const mismatch = () =>
      new ArchiveDamagedError(
        `Chunk ${hash} (${where()}) is corrupt: ${key} in ${
          tier.storage.location
        } does not match its hash`,
      );
    let decompressed: { data: Buffer; hash: string | undefined };
    try {
      decompressed = await this.codec.decompress(
        frame,
        expectedLength ?? this.deps.chunkSizeBytes,
        { into, frameHash: state.frameHash },
      );
    } catch (error) {
      if (!(error instanceof ChunkCodecError)) throw error;
      if (error.code === 'ENOENT') throw missing();
      if (error.code === 'FRAME_HASH') throw mismatch();
      if (!error.frame) {
        // The file could not be read, or the worker failed: not a damaged chunk.
        throw new Error(
          `Chunk ${hash} (${where()}): cannot read ${key} in ${
            tier.storage.location
          }: ${error.message}`,
        );
      }
      throw new ArchiveDamagedError(
        `Chunk ${hash} (${where()}) is corrupt: ${key} in ${
          tier.storage.location
        } does not decompress (${error.message})`,
      );
    }
    const { data } = decompressed;
    if (
      (expectedLength !== undefined && data.length !== expectedLength) ||
      (state.frameHash === undefined && decompressed.hash !== hash)
    ) {
      throw mismatch();
    }
    return data;
  }

  /**
   * Writes a disk of an archive back as a raw (sparse) image, verifying every chunk. Fails on
   * the first damaged chunk, naming the archive, machine, disk, chunk and file.
   */
  async readDisk(options: {
    archiveId: string;
    tier: string;
    disk: ArchiveDiskManifest;
    target: string;
    signal?: AbortSignal;
  }): Promise<void> {
    const tier = this.tier(options.tier);
    const { disk } = options;
    const indexes: number[] = [];
    disk.chunks.forEach((hash, i) => {
      if (hash) indexes.push(i);
    });
    const states = new Map(
      (
        await this.deps.store.archives.chunkStates(
          tier.config.name,
          indexes.map(i => disk.chunks[i]!),
        )
      ).map(s => [s.hash, s]),
    );
    const handle = await fs.open(options.target, 'w');
    try {
      await handle.truncate(disk.virtualSizeBytes);
      // A few chunks in flight at once: reads, decompression (thread pool), hashing and writes
      // overlap. Zero chunks stay holes.
      let next = 0;
      let failed = false;
      const worker = async () => {
        while (!failed && next < indexes.length) {
          options.signal?.throwIfAborted();
          const i = indexes[next++];
          const hash = disk.chunks[i]!;
          const offset = i * disk.chunkSizeBytes;
          try {
            const data = await this.readChunk(
              tier,
              states.get(hash),
              hash,
              chunkLength(disk, i),
              () => chunkPlace(options.archiveId, disk, i),
            );
            await handle.write(data, 0, data.length, offset);
          } catch (error) {
            failed = true;
            throw error;
          }
        }
      };
      await Promise.all(Array.from({ length: PARALLEL_READS }, worker));
    } finally {
      await handle.close();
    }
  }

  /**
   * Random access to an archived disk's bytes (each chunk verified when first read, a few kept
   * decompressed) and where it reads as zeros (its zero chunks), for serving the disk to a
   * reader such as an NBD client (`serveNbd`).
   *
   * Chunks are decompressed by the codec's workers into reused shared buffers ("slots"), so a
   * restore allocates nothing per chunk on this thread (a fresh 1 MiB buffer per chunk made
   * garbage collection the main cost of a restore). A slot is reused once no cached chunk, no
   * load and no unsent reply uses it: every read result holds its slots until `release`.
   */
  async diskReader(options: {
    archiveId: string;
    tier: string;
    disk: ArchiveDiskManifest;
  }): Promise<{
    sizeBytes: number;
    read: (offset: number, length: number) => Promise<ReadResult>;
    extents: ExtentsAt;
  }> {
    const tier = this.tier(options.tier);
    const { disk } = options;
    const states = new Map(
      (
        await this.deps.store.archives.chunkStates(
          tier.config.name,
          disk.chunks.filter((h): h is string => !!h),
        )
      ).map(s => [s.hash, s]),
    );
    const free: Slot[] = [];
    const unuse = (slot: Slot | undefined) => {
      if (slot && --slot.users === 0) free.push(slot);
    };
    const cache = new Map<number, CachedChunk>();
    let cacheLimit = READER_CACHE_CHUNKS;
    // Zero chunks are read often (whole disks are read): one shared buffer, never written to.
    const zeros = Buffer.alloc(disk.chunkSizeBytes);
    const chunk = (i: number): CachedChunk => {
      const cached = cache.get(i);
      if (cached) return cached;
      const hash = disk.chunks[i];
      const length = chunkLength(disk, i);
      let entry: CachedChunk;
      if (hash) {
        const slot = free.pop() ?? {
          memory: Buffer.from(new SharedArrayBuffer(disk.chunkSizeBytes)),
          users: 0,
        };
        // One use for the cache, one for the load until it settles.
        slot.users = 2;
        const loading = this.readChunk(
          tier,
          states.get(hash),
          hash,
          length,
          () => chunkPlace(options.archiveId, disk, i),
          slot.memory,
        );
        loading.then(
          () => unuse(slot),
          () => unuse(slot),
        );
        entry = { slot, loading };
      } else {
        entry = { loading: Promise.resolve(zeros.subarray(0, length)) };
      }
      cache.set(i, entry);
      // Readers go forwards with a few requests in flight: keep the latest chunks only (at
      // least all of the largest request and its read-ahead, or it would evict its own).
      while (cache.size > cacheLimit) {
        const oldest = cache.keys().next().value!;
        unuse(cache.get(oldest)!.slot);
        cache.delete(oldest);
      }
      return entry;
    };
    const read = async (
      offset: number,
      length: number,
    ): Promise<ReadResult> => {
      const size = disk.chunkSizeBytes;
      // Start every chunk of the range, and the next few (readers go forwards), before waiting.
      const first = Math.floor(offset / size);
      const last = Math.floor((offset + length - 1) / size);
      cacheLimit = Math.max(cacheLimit, 2 * (last - first + 1 + READ_AHEAD));
      for (
        let i = first;
        i <= Math.min(last + READ_AHEAD, disk.chunkCount - 1);
        i++
      ) {
        chunk(i).loading.catch(() => undefined); // awaited (and reported) by the read that needs it
      }
      const parts: Buffer[] = [];
      const held: Slot[] = [];
      const release = () => held.splice(0).forEach(unuse);
      try {
        for (let at = offset; at < offset + length; ) {
          const i = Math.floor(at / size);
          const entry = chunk(i);
          if (entry.slot) {
            entry.slot.users++;
            held.push(entry.slot);
          }
          const data = await entry.loading;
          const from = at - i * size;
          const to = Math.min(data.length, from + (offset + length - at));
          parts.push(data.subarray(from, to));
          at += to - from;
        }
      } catch (error) {
        release();
        throw error;
      }
      return { parts, release };
    };
    return {
      sizeBytes: disk.virtualSizeBytes,
      read,
      extents: (offset, length) => diskExtents(disk, offset, length),
    };
  }

  /** Checks every chunk of an archive; lists what is missing or corrupt and where it is used. */
  async verify(options: {
    archiveId: string;
    tier: string;
    disks: ArchiveDiskManifest[];
    signal?: AbortSignal;
  }): Promise<ArchiveVerification> {
    const tier = this.tier(options.tier);
    const usedBy = new Map<
      string,
      Array<{ machine: string; disk: string; chunk: number }>
    >();
    const lengths = chunkLengths(options.disks);
    for (const d of options.disks) {
      d.chunks.forEach((hash, i) => {
        if (!hash) return;
        usedBy.set(hash, [
          ...(usedBy.get(hash) ?? []),
          { machine: d.machine, disk: d.disk, chunk: i },
        ]);
      });
    }
    const hashes = [...usedBy.keys()];
    const damaged: ArchiveVerification['damaged'] = [];
    for (let start = 0; start < hashes.length; start += BATCH) {
      options.signal?.throwIfAborted();
      const batch = hashes.slice(start, start + BATCH);
      const states = new Map(
        (
          await this.deps.store.archives.chunkStates(tier.config.name, batch)
        ).map(s => [s.hash, s]),
      );
      await Promise.all(
        batch.map(async hash => {
          try {
            await this.readChunk(
              tier,
              states.get(hash),
              hash,
              lengths.get(hash),
              () => `archive ${options.archiveId}`,
            );
          } catch (error) {
            if (!(error instanceof ArchiveDamagedError)) throw error;
            damaged.push({
              hash,
              problem: /missing/.test(error.message) ? 'missing' : 'corrupt',
              usedBy: usedBy.get(hash)!,
            });
          }
        }),
      );
    }
    damaged.sort((a, b) => a.hash.localeCompare(b.hash));
    return {
      archiveId: options.archiveId,
      tier: tier.config.name,
      checkedChunks: hashes.length,
      damaged,
    };
  }

  /**
   * Gives an archive references on its chunks in another tier, copying (verified, recompressed
   * at that tier's level) what the tier does not have. The source tier is untouched.
   */
  async copyArchive(options: {
    archiveId: string;
    from: string;
    to: string;
    disks: ArchiveDiskManifest[];
    signal?: AbortSignal;
  }): Promise<{ addedBytes: number; chunks: number }> {
    const from = this.tier(options.from);
    const to = this.tier(options.to);
    const lengths = chunkLengths(options.disks);
    const hashes = [...lengths.keys()];
    let addedBytes = 0;
    for (let start = 0; start < hashes.length; start += BATCH) {
      options.signal?.throwIfAborted();
      const batch = hashes.slice(start, start + BATCH);
      const states = await this.deps.store.transaction(stores =>
        stores.archives.pinChunks(
          options.archiveId,
          to.config.name,
          batch.map(hash => ({ hash, rawBytes: lengths.get(hash)! })),
          nowIso(),
        ),
      );
      const missing = states.filter(s => !s.stored).map(s => s.hash);
      if (missing.length === 0) continue;
      const sources = new Map(
        (
          await this.deps.store.archives.chunkStates(from.config.name, missing)
        ).map(s => [s.hash, s]),
      );
      const data = new Map(
        await Promise.all(
          missing.map(
            async hash =>
              [
                hash,
                await this.readChunk(
                  from,
                  sources.get(hash),
                  hash,
                  lengths.get(hash),
                  () => `archive ${options.archiveId}`,
                ),
              ] as const,
          ),
        ),
      );
      addedBytes += await this.writeMissing(to, states, data);
    }
    return { addedBytes, chunks: hashes.length };
  }

  /** Deletes the files of chunks no archive references and forgets them. */
  async collect(tierName: string): Promise<{ chunks: number }> {
    const tier = this.tier(tierName);
    let collected = 0;
    for (;;) {
      const rows = await this.deps.store.archives.unreferenced(tierName, 500);
      if (rows.length === 0) break;
      for (const row of rows) {
        await tier.storage.delete(chunkKey(row.hash, row.generation));
        if (
          await this.deps.store.archives.forget(
            tierName,
            row.hash,
            row.generation,
          )
        ) {
          collected++;
        }
      }
      if (rows.length < 500) break;
    }
    return { chunks: collected };
  }

  /**
   * Deletes chunk files the catalog does not know (left by a writer that died before it took
   * its references, or of an older generation).
   */
  async sweepOrphans(tierName: string): Promise<{ files: number }> {
    const tier = this.tier(tierName);
    let deleted = 0;
    let batch: Array<{ key: string; hash: string; generation: number }> = [];
    const flush = async () => {
      const known = new Map(
        (
          await this.deps.store.archives.chunkStates(
            tierName,
            batch.map(b => b.hash),
          )
        ).map(s => [s.hash, s.generation]),
      );
      for (const b of batch) {
        if (known.get(b.hash) !== b.generation) {
          await tier.storage.delete(b.key);
          deleted++;
        }
      }
      batch = [];
    };
    for await (const key of tier.storage.list('chunks/')) {
      const parsed = parseChunkKey(key);
      if (!parsed) continue;
      batch.push({ key, ...parsed });
      if (batch.length >= 400) await flush();
    }
    if (batch.length) await flush();
    return { files: deleted };
  }
}

async function readFully(
  handle: fs.FileHandle,
  buffer: Buffer,
  position: number,
) {
  let done = 0;
  while (done < buffer.length) {
    const { bytesRead } = await handle.read(
      buffer,
      done,
      buffer.length - done,
      position + done,
    );
    if (bytesRead === 0) {
      throw new Error(`Unexpected end of file at ${position + done}`);
    }
    done += bytesRead;
  }
}
