import { TestDatabaseId } from '@backstage/backend-test-utils';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabases } from '../__testUtils__/databases';
import { filesBelow } from '../__testUtils__/files';
import { convertToRaw, mapOf } from '../__testUtils__/qemuImg';
import { applyDatabaseMigrations } from '../database/migrations';
import {
  DatabaseStageManagerStore,
  StageManagerStore,
} from '../database/StageManagerStore';
import {
  ArchiveDamagedError,
  chunkKey,
  ChunkRepository,
} from './ChunkRepository';
import { serveNbd } from './NbdExport';
import { FileTierStorage } from './TierStorage';

jest.setTimeout(120_000);

const CHUNK = 64 * 1024;
const NOW = '2026-11-22T10:00:00.000Z';

/** Compressible but not trivial content: text lines with numbers. */
function textBlock(bytes: number, seed: number): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = `record ${seed}-${i} value=${(i * 7919 + seed) % 100003}\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('ChunkRepository', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-chunks-test-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  const databases = createTestDatabases();

  async function setup(databaseId: TestDatabaseId) {
    const knex = await databases.init(databaseId);
    await applyDatabaseMigrations(knex);
    const store = DatabaseStageManagerStore.fromKnex(knex);
    const dir = fs.mkdtempSync(path.join(root, `${databaseId}-`));
    const tiers = [
      { name: 'hot', level: 3 },
      { name: 'cold', level: 12 },
    ].map(t => ({
      config: {
        name: t.name,
        type: 'file' as const,
        path: path.join(dir, t.name),
        compressionLevel: t.level,
      },
      storage: new FileTierStorage(path.join(dir, t.name)),
    }));
    const chunks = new ChunkRepository({
      store,
      tiers,
      chunkSizeBytes: CHUNK,
    });
    /** A new archive holding the raw image `file` in the hot tier. */
    const archiveFile = async (file: string) => {
      const a = await newArchive(store);
      const stored = await chunks.writeDisk({
        archiveId: a,
        tier: 'hot',
        file,
      });
      return { a, stored };
    };
    return { knex, store, chunks, dir, archiveFile };
  }

  async function newArchive(store: StageManagerStore) {
    const id = randomUUID();
    await store.archives.create({
      id,
      serviceRef: 'component:default/shop',
      stage: 'staging',
      sourceDeploymentId: randomUUID(),
      configurationId: randomUUID(),
      configurationVersion: 1,
      tier: 'hot',
      machines: [],
      operationId: randomUUID(),
      createdBy: 'user:default/ann',
      createdAt: NOW,
    });
    return id;
  }

  /** A 2 MiB + 1000 byte image: text, a zero hole, random bytes, a repeated block, a short tail. */
  function image(dir: string, name: string) {
    const parts = [
      textBlock(8 * CHUNK, 1),
      Buffer.alloc(8 * CHUNK),
      randomBytes(8 * CHUNK),
      Buffer.concat(Array.from({ length: 8 }, () => textBlock(CHUNK, 99))),
      textBlock(1000, 7),
    ];
    const data = Buffer.concat(parts);
    const file = path.join(dir, name);
    fs.writeFileSync(file, data);
    return { file, data };
  }

  const manifestOf = (
    stored: Awaited<ReturnType<ChunkRepository['writeDisk']>>,
  ) => ({
    position: 0,
    machine: 'web',
    disk: 'root',
    ...stored,
  });

  /** Reads a stored disk back into a file of `dir` and answers its sha256. */
  async function readBack(
    chunks: ChunkRepository,
    dir: string,
    archiveId: string,
    stored: Awaited<ReturnType<ChunkRepository['writeDisk']>>,
    tier = 'hot',
  ) {
    const target = path.join(dir, `${archiveId}-${tier}.raw`);
    await chunks.readDisk({
      archiveId,
      tier,
      disk: manifestOf(stored),
      target,
    });
    return sha(fs.readFileSync(target));
  }

  describe.each(databases.eachSupportedId())('on %p', databaseId => {
    it('stores a disk deduplicated and compressed, and reads it back byte for byte', async () => {
      const { chunks, dir, archiveFile } = await setup(databaseId);
      const { file, data } = image(dir, 'disk.raw');
      const { a, stored } = await archiveFile(file);

      expect(stored.chunkCount).toBe(33);
      expect(stored.zeroChunks).toBe(8);
      expect(stored.dataBytes).toBe(data.length - 8 * CHUNK);
      // 8 text + 8 random + 1 repeated (8 identical chunks) + the tail = 18 distinct chunks.
      expect(new Set(stored.chunks.filter(Boolean)).size).toBe(18);
      const hotFiles = filesBelow(path.join(dir, 'hot'));
      expect(hotFiles).toHaveLength(18);
      // Text compresses, random data does not: well below the raw data, above the random part.
      expect(stored.addedBytes).toBeLessThan(stored.dataBytes / 2);
      expect(stored.addedBytes).toBeGreaterThan(8 * CHUNK);

      const target = path.join(dir, 'restored.raw');
      await chunks.readDisk({
        archiveId: a,
        tier: 'hot',
        disk: manifestOf(stored),
        target,
      });
      const restored = fs.readFileSync(target);
      expect(restored.length).toBe(data.length);
      expect(sha(restored)).toBe(sha(data));
    });

    it('stores only the changed chunks of a second archive, and keeps chunks until the last archive using them is gone', async () => {
      const { store, chunks, dir } = await setup(databaseId);
      const { file, data } = image(dir, 'disk.raw');
      const first = await newArchive(store);
      const one = await chunks.writeDisk({
        archiveId: first,
        tier: 'hot',
        file,
      });

      // Change 100 bytes in chunk 3: one new chunk.
      const changed = Buffer.from(data);
      changed.write('patched!'.repeat(12), 3 * CHUNK + 500);
      fs.writeFileSync(file, changed);
      const second = await newArchive(store);
      const two = await chunks.writeDisk({
        archiveId: second,
        tier: 'hot',
        file,
      });
      expect(two.chunks.filter((h, i) => h !== one.chunks[i])).toHaveLength(1);
      expect(two.addedBytes).toBeGreaterThan(0);
      expect(two.addedBytes).toBeLessThan(CHUNK);
      expect(filesBelow(path.join(dir, 'hot'))).toHaveLength(19);

      // Running the same archive again stores nothing and takes no second reference.
      const again = await chunks.writeDisk({
        archiveId: second,
        tier: 'hot',
        file,
      });
      expect(again.addedBytes).toBe(0);
      expect(await store.archives.unreferenced('hot', 100)).toEqual([]);

      // The first archive goes: only its own chunk (the unpatched chunk 3) is collected.
      await store.archives.unpinAll(first, 'hot');
      expect(await chunks.collect('hot')).toEqual({ chunks: 1 });
      expect(filesBelow(path.join(dir, 'hot'))).toHaveLength(18);
      expect(await readBack(chunks, dir, second, two)).toBe(sha(changed));

      await store.archives.unpinAll(second, 'hot');
      expect(await chunks.collect('hot')).toEqual({ chunks: 18 });
      expect(filesBelow(path.join(dir, 'hot'))).toEqual([]);
      expect(await store.archives.tierUsage()).toEqual([]);
    });

    it('fails loudly on a corrupt or missing chunk, naming the machine, disk and chunk; verify lists every damaged chunk', async () => {
      const { store, chunks, dir, archiveFile } = await setup(databaseId);
      const { file } = image(dir, 'disk.raw');
      const { a, stored } = await archiveFile(file);
      const [state5] = await store.archives.chunkStates('hot', [
        stored.chunks[5]!,
      ]);
      const corrupt = path.join(
        dir,
        'hot',
        ...chunkKey(stored.chunks[5]!, state5.generation).split('/'),
      );
      const bytes = fs.readFileSync(corrupt);
      bytes[bytes.length - 10] ^= 0xff;
      fs.writeFileSync(corrupt, bytes);

      const target = path.join(dir, 'restored.raw');
      const reading = chunks.readDisk({
        archiveId: a,
        tier: 'hot',
        disk: manifestOf(stored),
        target,
      });
      await expect(reading).rejects.toThrow(ArchiveDamagedError);
      await expect(reading).rejects.toThrow(
        new RegExp(
          `Chunk ${stored.chunks[5]} \\(archive ${a}, machine web, disk root, chunk 5\\) is corrupt`,
        ),
      );

      const [state20] = await store.archives.chunkStates('hot', [
        stored.chunks[20]!,
      ]);
      fs.rmSync(
        path.join(
          dir,
          'hot',
          ...chunkKey(stored.chunks[20]!, state20.generation).split('/'),
        ),
      );
      const verification = await chunks.verify({
        archiveId: a,
        tier: 'hot',
        disks: [manifestOf(stored)],
      });
      expect(verification.checkedChunks).toBe(18);
      expect(
        verification.damaged.map(d => [d.hash, d.problem, d.usedBy]),
      ).toEqual(
        [
          [
            stored.chunks[5],
            'corrupt',
            [{ machine: 'web', disk: 'root', chunk: 5 }],
          ],
          [
            stored.chunks[20],
            'missing',
            [{ machine: 'web', disk: 'root', chunk: 20 }],
          ],
        ].sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
      );

      // A chunk file that cannot be read (here: a folder in its place) is a storage fault,
      // reported as such, not a damaged archive.
      fs.mkdirSync(
        path.join(
          dir,
          'hot',
          ...chunkKey(stored.chunks[20]!, state20.generation).split('/'),
        ),
      );
      const unreadable = await chunks
        .verify({ archiveId: a, tier: 'hot', disks: [manifestOf(stored)] })
        .catch(e => e);
      expect(unreadable).toBeInstanceOf(Error);
      expect(unreadable).not.toBeInstanceOf(ArchiveDamagedError);
      expect(unreadable.message).toMatch(/cannot read .*EISDIR/);
    });

    it('records the hash of every chunk file and checks files against it; chunks stored before frame hashes are checked by content', async () => {
      const { knex, store, chunks, dir, archiveFile } = await setup(databaseId);
      const { file, data } = image(dir, 'disk.raw');
      const { a, stored } = await archiveFile(file);
      const hashes = stored.chunks.filter((h): h is string => !!h);
      const states = await store.archives.chunkStates('hot', hashes);
      const fileOf = (hash: string) =>
        path.join(
          dir,
          'hot',
          ...chunkKey(
            hash,
            states.find(st => st.hash === hash)!.generation,
          ).split('/'),
        );
      for (const st of states) {
        expect(st.frameHash).toBe(sha(fs.readFileSync(fileOf(st.hash))));
      }

      // Chunk 3's file replaced by chunk 17's, an intact frame of other data: the frame's
      // hash tells, without decompressing.
      const [h3, h17] = [stored.chunks[3]!, stored.chunks[17]!];
      const original3 = fs.readFileSync(fileOf(h3));
      fs.copyFileSync(fileOf(h17), fileOf(h3));
      const read = () =>
        chunks.readDisk({
          archiveId: a,
          tier: 'hot',
          disk: manifestOf(stored),
          target: path.join(dir, 'restored.raw'),
        });
      await expect(read()).rejects.toThrow(
        new RegExp(
          `Chunk ${h3} .*chunk 3\\) is corrupt: .* does not match its hash`,
        ),
      );

      // As a catalog from before frame hashes: no frame hash, so the content hash tells.
      await knex('archive_chunks').update({ frame_sha256: null });
      const [legacy] = await store.archives.chunkStates('hot', [h3]);
      expect(legacy.frameHash).toBeUndefined();
      await expect(read()).rejects.toThrow(
        new RegExp(
          `Chunk ${h3} .*chunk 3\\) is corrupt: .* does not match its hash`,
        ),
      );
      fs.writeFileSync(fileOf(h3), original3);
      await read();
      const restored = fs.readFileSync(path.join(dir, 'restored.raw'));
      expect(sha(restored)).toBe(sha(data));
    });

    it('copies an archive to another tier (recompressed) and restores from there after the source tier lost it', async () => {
      const { store, chunks, dir, archiveFile } = await setup(databaseId);
      const { file, data } = image(dir, 'disk.raw');
      const { a, stored } = await archiveFile(file);
      const copied = await chunks.copyArchive({
        archiveId: a,
        from: 'hot',
        to: 'cold',
        disks: [manifestOf(stored)],
      });
      expect(copied.chunks).toBe(18);
      // Level 12 compresses the text at least as well as level 3.
      expect(copied.addedBytes).toBeLessThanOrEqual(stored.addedBytes);
      await store.archives.unpinAll(a, 'hot');
      await chunks.collect('hot');
      expect(filesBelow(path.join(dir, 'hot'))).toEqual([]);
      expect(filesBelow(path.join(dir, 'cold'))).toHaveLength(18);

      expect(await readBack(chunks, dir, a, stored, 'cold')).toBe(sha(data));
    });

    it('reads a disk source only where it may hold data, adjacent chunks at once, into the same manifest as the file', async () => {
      const { store, chunks, dir } = await setup(databaseId);
      const { file, data } = image(dir, 'disk.raw');
      const fromFile = await chunks.writeDisk({
        archiveId: await newArchive(store),
        tier: 'hot',
        file,
      });
      const reads: Array<{ offset: number; length: number }> = [];
      const fromSource = await chunks.writeDisk({
        archiveId: await newArchive(store),
        tier: 'hot',
        source: {
          sizeBytes: data.length,
          read: async (buffer, offset) => {
            reads.push({ offset, length: buffer.length });
            data.copy(buffer, 0, offset, offset + buffer.length);
          },
          // The zero hole (chunks 8-15) is not data, except 10 bytes in chunk 9.
          dataRanges: [
            { offset: 0, length: 8 * CHUNK },
            { offset: 9 * CHUNK + 100, length: 10 },
            { offset: 16 * CHUNK, length: data.length - 16 * CHUNK },
          ],
        },
      });
      const { addedBytes: _a, ...expected } = fromFile;
      expect(fromSource).toMatchObject(expected);
      // Chunks 8 and 10-15 were never read; chunk 9 was, and turned out zero.
      const readChunks = reads.flatMap(r =>
        Array.from(
          { length: Math.ceil(r.length / CHUNK) },
          (_, k) => r.offset / CHUNK + k,
        ),
      );
      expect(readChunks.sort((x, y) => x - y)).toEqual([
        ...[0, 1, 2, 3, 4, 5, 6, 7],
        9,
        ...Array.from({ length: 17 }, (_, k) => 16 + k),
      ]);
      // One read per run of adjacent chunks within a batch of 16: 0-7, 9, 16-31, 32.
      expect(reads).toHaveLength(4);
    });

    it('writes a chunk that recurs in a later batch of the same disk once', async () => {
      const { store, chunks, dir } = await setup(databaseId);
      const twice = textBlock(CHUNK, 5);
      const file = path.join(dir, 'recurring.raw');
      fs.writeFileSync(
        file,
        Buffer.concat([twice, randomBytes(30 * CHUNK), twice]),
      );
      const stored = await chunks.writeDisk({
        archiveId: await newArchive(store),
        tier: 'hot',
        file,
      });
      expect(stored.chunks[0]).toBe(stored.chunks[31]);
      const files = filesBelow(path.join(dir, 'hot'));
      expect(files).toHaveLength(31);
      const onDisk = files.reduce((n, f) => n + fs.statSync(f).size, 0);
      expect(stored.addedBytes).toBe(onDisk);
    });

    it('serves a disk over NBD that qemu-img reads byte for byte, and names a damaged chunk when a read fails', async () => {
      const { store, chunks, dir, archiveFile } = await setup(databaseId);
      const { file, data } = image(dir, 'disk.raw');
      const { a, stored } = await archiveFile(file);
      const serve = async () =>
        serveNbd({
          socketPath: path.join(dir, 'nbd.sock'),
          ...(await chunks.diskReader({
            archiveId: a,
            tier: 'hot',
            disk: manifestOf(stored),
          })),
        });
      const target = path.join(dir, 'from-nbd.raw');
      let nbd = await serve();
      try {
        await convertToRaw(nbd.url, target);
        // Block status: the zero chunks (8 to 15) read as zeros, so readers can skip them.
        expect(
          (await mapOf(nbd.url))
            .filter(r => r.zero)
            .map(r => [r.start / CHUNK, r.length / CHUNK]),
        ).toEqual([
          [8, 8],
          [(32 * CHUNK + 1000) / CHUNK, 24 / CHUNK],
        ]);
      } finally {
        await nbd.close();
      }
      expect(nbd.failure).toBeUndefined();
      // Whole sectors: the 1000-byte tail is padded with zeros to 1024.
      const read = fs.readFileSync(target);
      expect(read.length).toBe(Math.ceil(data.length / 512) * 512);
      expect(sha(read.subarray(0, data.length))).toBe(sha(data));
      expect(read.subarray(data.length).every(b => b === 0)).toBe(true);

      const [state] = await store.archives.chunkStates('hot', [
        stored.chunks[20]!,
      ]);
      fs.writeFileSync(
        path.join(
          dir,
          'hot',
          ...chunkKey(stored.chunks[20]!, state.generation).split('/'),
        ),
        'garbage',
      );
      nbd = await serve();
      try {
        await expect(convertToRaw(nbd.url, target)).rejects.toThrow(
          /Input\/output error|error while reading/i,
        );
      } finally {
        await nbd.close();
      }
      expect(nbd.failure).toBeInstanceOf(ArchiveDamagedError);
      expect(nbd.failure?.message).toContain(
        `(archive ${a}, machine web, disk root, chunk 20) is corrupt`,
      );
      expect(fs.existsSync(path.join(dir, 'nbd.sock'))).toBe(false);
    });

    it('serves a disk of many more chunks than it caches to readers that hold replies a while', async () => {
      const { chunks, dir, archiveFile } = await setup(databaseId);
      // 96 distinct chunks (the reader caches 32) and a short tail.
      const data = Buffer.concat([
        ...Array.from({ length: 96 }, (_, i) => textBlock(CHUNK, 1000 + i)),
        textBlock(1000, 3),
      ]);
      const file = path.join(dir, 'many.raw');
      fs.writeFileSync(file, data);
      const { a, stored } = await archiveFile(file);
      const { read } = await chunks.diskReader({
        archiveId: a,
        tier: 'hot',
        disk: manifestOf(stored),
      });
      // A reply held until the whole disk has been read past it (a slow socket): its buffers
      // must not be reused meanwhile.
      const held = await read(CHUNK / 2, 2 * CHUNK);
      // Eight readers in flight, forwards over the disk, each request across a chunk border;
      // a reply is checked only after a pause (as a socket may hold it) and then released.
      const request = 3 * CHUNK;
      const offsets: number[] = [];
      for (let at = CHUNK / 2; at < data.length; at += request) {
        offsets.push(at);
      }
      let next = 0;
      const bad: number[] = [];
      const reader = async () => {
        while (next < offsets.length) {
          const offset = offsets[next++];
          const length = Math.min(request, data.length - offset);
          const { parts, release } = await read(offset, length);
          await new Promise(resolve =>
            setTimeout(resolve, (offset / CHUNK) % 5),
          );
          const got = Buffer.concat(parts);
          if (!got.equals(data.subarray(offset, offset + length))) {
            bad.push(offset);
          }
          release();
        }
      };
      await Promise.all(Array.from({ length: 8 }, reader));
      expect(bad).toEqual([]);
      expect(
        Buffer.concat(held.parts).equals(
          data.subarray(CHUNK / 2, CHUNK / 2 + 2 * CHUNK),
        ),
      ).toBe(true);
      held.release();
      // The start of the disk again, long evicted from the cache.
      const again = await read(0, 2 * CHUNK);
      expect(
        Buffer.concat(again.parts).equals(data.subarray(0, 2 * CHUNK)),
      ).toBe(true);
      again.release();
    });

    it('starts a new file generation for a chunk used again after it lost its last reference, and sweeps files the catalog does not know', async () => {
      const { store, chunks, dir } = await setup(databaseId);
      const { file, data } = image(dir, 'disk.raw');
      const first = await newArchive(store);
      const one = await chunks.writeDisk({
        archiveId: first,
        tier: 'hot',
        file,
      });
      await store.archives.unpinAll(first, 'hot');
      const hash = one.chunks[0]!;
      const [before] = await store.archives.chunkStates('hot', [hash]);

      // A new archive takes the chunk before the collector ran: new generation, written again.
      const second = await newArchive(store);
      const two = await chunks.writeDisk({
        archiveId: second,
        tier: 'hot',
        file,
      });
      const [after] = await store.archives.chunkStates('hot', [hash]);
      expect(after.generation).toBe(before.generation + 1);
      expect(after.stored).toBe(true);
      expect(two.addedBytes).toBe(one.addedBytes);

      // Nothing is unreferenced; the old generation's files are orphans.
      expect(await chunks.collect('hot')).toEqual({ chunks: 0 });
      fs.mkdirSync(path.join(dir, 'hot', 'chunks', 'ab'), { recursive: true });
      fs.writeFileSync(
        path.join(dir, 'hot', 'chunks', 'ab', `${'ab'.repeat(32)}.1`),
        'stray',
      );
      expect(await chunks.sweepOrphans('hot')).toEqual({ files: 19 });
      expect(filesBelow(path.join(dir, 'hot'))).toHaveLength(18);
      expect(await readBack(chunks, dir, second, two)).toBe(sha(data));
    });
  });
});
