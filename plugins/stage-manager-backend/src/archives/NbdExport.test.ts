import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { convertToRaw, mapOf } from '../__testUtils__/qemuImg';
import { Extent, serveNbd } from './NbdExport';

jest.setTimeout(60_000);

const MiB = 1024 * 1024;

/** qemu's own NBD client (structured replies, block status) reads these exports. */
describe('serveNbd', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-nbd-export-test-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /**
   * A disk of `size` bytes whose MiB number `n` is all zeros when `zero(n)`, random otherwise;
   * served with its extents (unless `withExtents` is false), counting the bytes read.
   */
  async function serve(
    size: number,
    zero: (n: number) => boolean,
    withExtents = true,
  ) {
    const data = randomBytes(size);
    for (let n = 0; n * MiB < size; n++) {
      if (zero(n)) data.fill(0, n * MiB, Math.min(size, (n + 1) * MiB));
    }
    const stats = { readBytes: 0 };
    const socketPath = path.join(dir, `${randomBytes(4).toString('hex')}.sock`);
    const nbd = await serveNbd({
      socketPath,
      sizeBytes: size,
      read: async (offset, length) => {
        stats.readBytes += length;
        return data.subarray(offset, offset + length);
      },
      extents: withExtents
        ? (offset, length) => {
            const runs: Extent[] = [];
            for (let at = offset; at < offset + length; ) {
              const n = Math.floor(at / MiB);
              const to = Math.min(offset + length, (n + 1) * MiB);
              runs.push({ length: to - at, zero: zero(n) });
              at = to;
            }
            return runs;
          }
        : undefined,
    });
    return { nbd, data, stats, socketPath };
  }

  it('answers block status: qemu-img maps the zero ranges, merged, and the tail past the end as zero', async () => {
    // 6 MiB and 1000 bytes: MiB 1, 2 and 4 are zeros; the export is rounded up to whole sectors.
    const size = 6 * MiB + 1000;
    const { nbd } = await serve(size, n => n === 1 || n === 2 || n === 4);
    try {
      const ranges = await mapOf(nbd.url);
      expect(
        ranges.map(r => [r.start / MiB, r.length / MiB, r.zero, r.data]),
      ).toEqual([
        [0, 1, false, true],
        [1, 2, true, false],
        [3, 1, false, true],
        [4, 1, true, false],
        [5, (MiB + 1000) / MiB, false, true],
        [6 + 1000 / MiB, 24 / MiB, true, false],
      ]);
      expect(nbd.failure).toBeUndefined();
    } finally {
      await nbd.close();
    }
  });

  it('lets qemu-img convert skip the zero ranges: it reads only the data, and gets every byte', async () => {
    const size = 16 * MiB;
    const zero = (n: number) => n % 4 !== 0;
    const target = path.join(dir, 'skipping.raw');
    const { nbd, data, stats } = await serve(size, zero);
    try {
      await convertToRaw(nbd.url, target);
    } finally {
      await nbd.close();
    }
    expect(stats.readBytes).toBe(4 * MiB);
    expect(fs.readFileSync(target).equals(data)).toBe(true);

    // Without extents the reader has to read everything (and still gets the same bytes).
    const plain = await serve(size, zero, false);
    try {
      await convertToRaw(plain.nbd.url, target);
      await expect(mapOf(plain.nbd.url)).resolves.toEqual([
        expect.objectContaining({ start: 0, length: size, data: true }),
      ]);
    } finally {
      await plain.nbd.close();
    }
    expect(plain.stats.readBytes).toBe(size);
    expect(fs.readFileSync(target).equals(plain.data)).toBe(true);
  });

  it('answers a read that fails with a structured EIO error and records the failure', async () => {
    const socketPath = path.join(dir, 'failing.sock');
    const nbd = await serveNbd({
      socketPath,
      sizeBytes: 4 * MiB,
      read: async () => {
        throw new Error('chunk 3 is damaged');
      },
      extents: (_offset, length) => [{ length, zero: false }],
    });
    try {
      await expect(
        convertToRaw(nbd.url, path.join(dir, 'failing.raw')),
      ).rejects.toMatchObject({
        stderr: expect.stringContaining('Input/output error'),
      });
      expect(nbd.failure?.message).toBe('chunk 3 is damaged');
    } finally {
      await nbd.close();
    }
  });

  /** A raw client for option haggling: sends options, returns each reply's type and data. */
  async function haggle(
    socketPath: string,
    options: Array<{ option: number; data?: Buffer }>,
  ): Promise<Array<{ option: number; type: number; data: Buffer }>> {
    const socket = net.connect(socketPath);
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    await new Promise(resolve => socket.once('connect', resolve));
    socket.write(Buffer.from([0, 0, 0, 3])); // fixed newstyle, no zeroes
    for (const { option, data = Buffer.alloc(0) } of options) {
      const head = Buffer.alloc(16);
      Buffer.from('IHAVEOPT').copy(head, 0);
      head.writeUInt32BE(option, 8);
      head.writeUInt32BE(data.length, 12);
      socket.write(Buffer.concat([head, data]));
    }
    const abort = Buffer.alloc(16);
    Buffer.from('IHAVEOPT').copy(abort, 0);
    abort.writeUInt32BE(2, 8);
    socket.write(abort);
    await new Promise(resolve => socket.once('close', resolve));
    const all = Buffer.concat(chunks).subarray(18);
    const replies = [];
    for (let at = 0; at + 20 <= all.length; ) {
      const length = all.readUInt32BE(at + 16);
      replies.push({
        option: all.readUInt32BE(at + 8),
        type: all.readUInt32BE(at + 12),
        data: all.subarray(at + 20, at + 20 + length),
      });
      at += 20 + length;
    }
    return replies;
  }

  const metaQuery = (...queries: string[]) =>
    Buffer.concat([
      Buffer.from([0, 0, 0, 0]), // export name ""
      Buffer.from([0, 0, 0, queries.length]),
      ...queries.flatMap(q => {
        const length = Buffer.alloc(4);
        length.writeUInt32BE(Buffer.byteLength(q), 0);
        return [length, Buffer.from(q)];
      }),
    ]);

  it('negotiates metadata contexts only after structured replies, and refuses malformed queries', async () => {
    const { nbd, socketPath } = await serve(MiB, () => false);
    try {
      const replies = await haggle(socketPath, [
        // Before structured replies: invalid.
        { option: 10, data: metaQuery('base:allocation') },
        { option: 8 },
        // Truncated query data: invalid.
        { option: 10, data: metaQuery('base:allocation').subarray(0, 10) },
        // An unknown context selects nothing; base:allocation gets id 1.
        { option: 10, data: metaQuery('qemu:dirty-bitmap:x') },
        { option: 10, data: metaQuery('base:allocation') },
        { option: 9, data: metaQuery() },
      ]);
      const INVALID = 0x80000003;
      expect(
        replies.map(r => [
          r.option,
          r.type,
          r.type === 4
            ? `${r.data.readUInt32BE(0)}:${r.data.subarray(4).toString()}`
            : '',
        ]),
      ).toEqual([
        [10, INVALID, ''],
        [8, 1, ''],
        [10, INVALID, ''],
        [10, 1, ''],
        [10, 4, '1:base:allocation'],
        [10, 1, ''],
        [9, 4, '0:base:allocation'],
        [9, 1, ''],
        [2, 1, ''],
      ]);
    } finally {
      await nbd.close();
    }
  });
});
