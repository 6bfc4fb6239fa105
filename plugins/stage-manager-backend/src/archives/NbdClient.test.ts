import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { NbdClient } from './NbdClient';
import { NbdExport, serveNbd } from './NbdExport';

describe('NbdClient', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-nbd-client-test-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const disk = randomBytes(3 * 1024 * 1024 + 512);
  let server: NbdExport;
  let socketPath: string;
  let failAt: number | undefined;
  /** While set, the server answers no read. */
  let hold: Promise<void> | undefined;

  beforeEach(async () => {
    failAt = undefined;
    hold = undefined;
    socketPath = path.join(dir, `${randomBytes(4).toString('hex')}.sock`);
    server = await serveNbd({
      socketPath,
      sizeBytes: disk.length,
      read: async (offset, length) => {
        await hold;
        if (
          failAt !== undefined &&
          offset <= failAt &&
          failAt < offset + length
        ) {
          throw new Error('damaged');
        }
        // Answer out of order: later requests may finish first.
        await new Promise(resolve => setTimeout(resolve, (offset / 4096) % 7));
        return disk.subarray(offset, offset + length);
      },
    });
  });
  afterEach(() => server.close());

  it('reads the export with many requests in flight, each into its own buffer', async () => {
    const client = await NbdClient.connect(socketPath);
    expect(client.sizeBytes).toBe(disk.length);
    const pieces = Array.from({ length: 40 }, (_, i) => ({
      offset: i * 77_000,
      buffer: Buffer.alloc(i % 3 === 0 ? 70_000 : 4096 + i),
    }));
    await Promise.all(pieces.map(p => client.read(p.buffer, p.offset)));
    for (const p of pieces) {
      expect(
        p.buffer.equals(disk.subarray(p.offset, p.offset + p.buffer.length)),
      ).toBe(true);
    }
    const whole = Buffer.alloc(disk.length);
    await client.read(whole, 0);
    expect(whole.equals(disk)).toBe(true);
    await client.close();
  });

  it('rejects reads outside the export and after close, and a failed read alone', async () => {
    const client = await NbdClient.connect(socketPath);
    await expect(client.read(Buffer.alloc(1024), disk.length)).rejects.toThrow(
      /outside the export/,
    );
    failAt = 2 * 1024 * 1024;
    const bad = client.read(Buffer.alloc(4096), failAt);
    const good = Buffer.alloc(4096);
    await Promise.all([
      expect(bad).rejects.toThrow(`at ${failAt} failed (error 5)`),
      client.read(good, 8192),
    ]);
    expect(good.equals(disk.subarray(8192, 8192 + 4096))).toBe(true);
    await client.close();
    await expect(client.read(Buffer.alloc(512), 0)).rejects.toThrow(/closed/);
  });

  it('fails pending reads when the server goes away', async () => {
    const client = await NbdClient.connect(socketPath);
    hold = new Promise(() => undefined);
    const pending = client.read(Buffer.alloc(disk.length), 0);
    pending.catch(() => undefined);
    await server.close();
    await expect(pending).rejects.toThrow(/closed the connection|ECONNRESET/);
  });

  it('sends reused buffers before the reader gets them back', async () => {
    const sock = path.join(dir, 'reuse.sock');
    // One buffer for every reply: if it came back before the kernel had the bytes, later
    // replies would overwrite earlier ones still waiting to be sent.
    const scratch = Buffer.alloc(256 * 1024);
    let inUse = 0;
    let released = 0;
    const reuse = await serveNbd({
      socketPath: sock,
      sizeBytes: disk.length,
      read: async (offset, length) => {
        while (inUse > 0) await new Promise(resolve => setImmediate(resolve));
        inUse++;
        disk.copy(scratch, 0, offset, offset + length);
        return {
          parts: [
            scratch.subarray(0, length / 2),
            scratch.subarray(length / 2, length),
          ],
          release: () => {
            inUse--;
            released++;
            scratch.fill(0xee);
          },
        };
      },
    });
    try {
      const client = await NbdClient.connect(sock);
      const reads = Array.from({ length: 24 }, (_, i) => ({
        offset: i * 130_000,
        buffer: Buffer.alloc(128 * 1024),
      }));
      await Promise.all(reads.map(r => client.read(r.buffer, r.offset)));
      for (const r of reads) {
        expect(
          r.buffer.equals(disk.subarray(r.offset, r.offset + r.buffer.length)),
        ).toBe(true);
      }
      expect(released).toBe(reads.length);
      await client.close();
    } finally {
      await reuse.close();
    }
  });

  it('refuses a socket that is not an NBD server', async () => {
    const other = path.join(dir, 'not-nbd.sock');
    const plain = net.createServer(s =>
      s.end('HTTP/1.1 400 Bad Request\r\n\r\n'),
    );
    await new Promise<void>(resolve => plain.listen(other, resolve));
    try {
      await expect(NbdClient.connect(other)).rejects.toThrow(
        /not a fixed-newstyle NBD server|closed the connection/,
      );
    } finally {
      await new Promise(resolve => plain.close(resolve));
    }
    await expect(
      NbdClient.connect(path.join(dir, 'missing.sock')),
    ).rejects.toThrow(/ENOENT/);
  });
});
