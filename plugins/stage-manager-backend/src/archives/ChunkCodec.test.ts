import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import { ChunkCodec, ChunkCodecError } from './ChunkCodec';

const execFileAsync = promisify(execFile);

const sha256 = (data: Uint8Array) =>
  createHash('sha256').update(data).digest('hex');

/** 256 KiB that compress like text: words of a small vocabulary in random order. */
function compressible(seed: number): Buffer {
  const words = ['stage', 'manager', 'deploy', 'archive', 'chunk', 'restore'];
  const noise = randomBytes(200_000);
  let text = `${seed} `;
  for (let i = 0; text.length < 256 * 1024; i++) {
    text += words[noise[i] % words.length] + (noise[i + 1] % 9 ? ' ' : '\n');
  }
  return Buffer.from(text).subarray(0, 256 * 1024);
}

function shared(data: Buffer): Buffer {
  const copy = Buffer.from(new SharedArrayBuffer(data.length));
  data.copy(copy);
  return copy;
}

describe('ChunkCodec', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-codec-test-'));
  const codec = new ChunkCodec({ threads: 2 });
  afterAll(async () => {
    await codec.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('hashes plain and shared buffers (views too) as sha256 does', async () => {
    const data = randomBytes(300_000);
    const view = data.subarray(1000, 200_000);
    await expect(codec.hash(data)).resolves.toBe(sha256(data));
    await expect(codec.hash(view)).resolves.toBe(sha256(view));
    const sharedView = shared(data).subarray(1000, 200_000);
    await expect(codec.hash(sharedView)).resolves.toBe(sha256(view));
  });

  it('compresses to zstd frames any zstd reads, with the frame hash, and back with the hash', async () => {
    const data = compressible(1);
    const { frame, hash } = await codec.compress(data, 3);
    expect(frame.length).toBeLessThan(data.length / 4);
    expect(hash).toBe(sha256(frame));
    expect(zlib.zstdDecompressSync(frame).equals(data)).toBe(true);
    // Level matters: 19 is smaller than 1 on this data.
    const small = await codec.compress(data, 19);
    const fast = await codec.compress(data, 1);
    expect(small.frame.length).toBeLessThan(fast.frame.length);
    const back = await codec.decompress(frame, data.length);
    expect(back.data.equals(data)).toBe(true);
    expect(back.hash).toBe(sha256(data));
  });

  it('checks a frame against its hash instead of hashing its content, and relies on the content checksum', async () => {
    const data = compressible(5);
    const { frame, hash } = await codec.compress(data, 3);
    const checked = await codec.decompress(frame, data.length, {
      frameHash: hash,
    });
    expect(checked.data.equals(data)).toBe(true);
    expect(checked.hash).toBeUndefined();

    // Another chunk's intact frame in its place: the hash of the frame tells.
    const other = await codec.compress(compressible(6), 3);
    const swapped = await codec
      .decompress(other.frame, data.length, { frameHash: hash })
      .catch(e => e);
    expect(swapped).toBeInstanceOf(ChunkCodecError);
    expect(swapped).toMatchObject({ code: 'FRAME_HASH', frame: true });

    // The frames carry zstd's content checksum: random bytes are stored as a raw block, where
    // a changed byte would decode without complaint; the checksum makes it fail.
    const noise = randomBytes(64 * 1024);
    const raw = Buffer.from((await codec.compress(noise, 3)).frame);
    raw[raw.length / 2] ^= 0x01;
    const refused = await codec.decompress(raw, noise.length).catch(e => e);
    expect(refused).toBeInstanceOf(ChunkCodecError);
    expect(refused.frame).toBe(true);
  });

  it('writes a frame over a shared chunk when asked, and never over plain memory', async () => {
    const data = compressible(2);
    const chunk = shared(data);
    const { frame } = await codec.compress(chunk, 3, { inPlace: true });
    expect(frame.buffer).toBe(chunk.buffer);
    expect(frame.byteOffset).toBe(chunk.byteOffset);
    expect(zlib.zstdDecompressSync(frame).equals(data)).toBe(true);

    const plain = Buffer.from(data);
    const { frame: other } = await codec.compress(plain, 3, {
      inPlace: true,
    });
    expect(other.buffer).not.toBe(plain.buffer);
    expect(plain.equals(data)).toBe(true);

    // Random bytes do not compress: the frame is larger and comes back on its own.
    const noise = shared(randomBytes(64 * 1024));
    const before = Buffer.from(noise);
    const { frame: raw } = await codec.compress(noise, 3, { inPlace: true });
    expect(raw.buffer).not.toBe(noise.buffer);
    expect(noise.equals(before)).toBe(true);
    expect(zlib.zstdDecompressSync(raw).equals(before)).toBe(true);
  });

  it('decompresses a frame read from a file into shared memory', async () => {
    const data = compressible(3);
    const file = path.join(dir, 'frame.zst');
    fs.writeFileSync(file, zlib.zstdCompressSync(data));
    const slot = Buffer.from(new SharedArrayBuffer(512 * 1024));
    const back = await codec.decompress({ file }, data.length, { into: slot });
    expect(back.data.buffer).toBe(slot.buffer);
    expect(back.data.equals(data)).toBe(true);
    expect(back.hash).toBe(sha256(data));
    // Plain memory cannot be written into by a worker.
    await expect(
      codec.decompress({ file }, data.length, {
        into: Buffer.alloc(512 * 1024),
      }),
    ).rejects.toThrow(/shared memory/);
  });

  it('fails damaged frames, oversized results and missing files with reasons', async () => {
    const data = compressible(4);
    const frame = zlib.zstdCompressSync(data);
    const damaged = Buffer.from(frame);
    damaged.fill(0x55, 20, 60);
    const refused = await codec.decompress(damaged, data.length).catch(e => e);
    expect(refused).toBeInstanceOf(ChunkCodecError);
    expect(refused.frame).toBe(true);
    const tooLarge = await codec
      .decompress(frame, data.length - 1)
      .catch(e => e);
    expect(tooLarge).toBeInstanceOf(ChunkCodecError);
    expect(tooLarge.frame).toBe(true);
    const missing = await codec
      .decompress({ file: path.join(dir, 'nope.zst') }, data.length)
      .catch(e => e);
    expect(missing).toBeInstanceOf(ChunkCodecError);
    expect(missing.code).toBe('ENOENT');
    expect(missing.frame).toBe(false);
    // A file that cannot be read is not a damaged frame.
    const unreadable = await codec
      .decompress({ file: dir }, data.length)
      .catch(e => e);
    expect(unreadable).toBeInstanceOf(ChunkCodecError);
    expect(unreadable.code).toBe('EISDIR');
    expect(unreadable.frame).toBe(false);
    // The workers go on after failures.
    await expect(codec.hash(data)).resolves.toBe(sha256(data));
  });

  it('keeps many jobs in flight, answers each right, and stops idle workers', async () => {
    const idle = new ChunkCodec({ threads: 2, idleMs: 50 });
    const inputs = Array.from({ length: 40 }, (_, i) => compressible(i + 10));
    const [hashes, frames] = await Promise.all([
      Promise.all(inputs.map(d => idle.hash(d))),
      Promise.all(inputs.map(d => idle.compress(d, 3))),
    ]);
    inputs.forEach((d, i) => {
      expect(hashes[i]).toBe(sha256(d));
      expect(zlib.zstdDecompressSync(frames[i].frame).equals(d)).toBe(true);
    });
    const workers = () => (idle as unknown as { workers: unknown[] }).workers;
    expect(workers()).toHaveLength(2);
    await new Promise(resolve => setTimeout(resolve, 200));
    expect(workers()).toHaveLength(0);
    // And start again on the next job.
    await expect(idle.hash(inputs[0])).resolves.toBe(sha256(inputs[0]));
    await idle.close();
  });

  it('lets hashes and reads pass queued compression', async () => {
    const one = new ChunkCodec({ threads: 1 });
    const order: string[] = [];
    const data = compressible(5);
    const compressions = Array.from({ length: 8 }, (_, i) =>
      one.compress(data, 19).then(() => order.push(`compress ${i}`)),
    );
    const hashed = one.hash(data).then(() => order.push('hash'));
    await Promise.all([...compressions, hashed]);
    // At most the two jobs the worker already held ran first.
    expect(order.indexOf('hash')).toBeLessThanOrEqual(2);
    expect(order).toHaveLength(9);
    await one.close();
  });

  it('fails only the running job of a worker that dies; the waiting one runs elsewhere', async () => {
    const one = new ChunkCodec({ threads: 1 });
    const big = shared(Buffer.alloc(8 * 1024 * 1024, 3));
    const first = one.compress(big, 19).catch(e => e);
    const second = one.compress(big, 1);
    // Both sit on the one worker (one running, one waiting); the worker dies.
    const [entry] = (
      one as unknown as { workers: Array<{ worker: { terminate(): unknown } }> }
    ).workers;
    await entry.worker.terminate();
    expect(await first).toBeInstanceOf(Error);
    const frame = await second;
    expect(zlib.zstdDecompressSync(frame.frame).equals(big)).toBe(true);
    await one.close();
  });

  it('never keeps the process alive once idle', async () => {
    // A process that hashes once with workers meant to idle for a minute exits at once.
    const script = path.join(dir, 'idle.js');
    fs.writeFileSync(
      script,
      `require(${JSON.stringify(require.resolve('sucrase/register'))});
const { ChunkCodec } = require(${JSON.stringify(
        path.join(__dirname, 'ChunkCodec.ts'),
      )});
new ChunkCodec({ idleMs: 60000 }).hash(Buffer.from('x')).then(h => console.log(h));`,
    );
    const started = Date.now();
    const { stdout } = await execFileAsync(process.execPath, [script], {
      cwd: path.join(__dirname, '../../../..'),
      timeout: 30_000,
    });
    expect(stdout.trim()).toBe(sha256(Buffer.from('x')));
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 60_000);

  it('fails running jobs when closed and serves later ones with new workers', async () => {
    const closing = new ChunkCodec({ threads: 1 });
    const big = Buffer.alloc(8 * 1024 * 1024, 7);
    const running = closing.compress(big, 19);
    await closing.close();
    await expect(running).rejects.toThrow(/exited|terminated/);
    await expect(closing.hash(big)).resolves.toBe(sha256(big));
    await closing.close();
  });
});
