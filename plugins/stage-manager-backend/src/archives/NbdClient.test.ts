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
