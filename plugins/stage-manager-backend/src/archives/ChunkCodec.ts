import os from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * A codec job failed: `frame` when zstd refused the frame (damaged, or larger than allowed),
 * else with the system error's `code` when a file could not be read (`ENOENT`: missing).
 */
export class ChunkCodecError extends Error {
  readonly name = 'ChunkCodecError';

  constructor(
    message: string,
    readonly code?: string,
    /** zstd refused the frame itself: the data is damaged. */
    readonly frame: boolean = false,
  ) {
    super(message);
  }
}

/** Jobs a worker holds at once: one running, one waiting in its message queue. */
const IN_FLIGHT = 2;

/**
 * The worker, as plain JavaScript evaluated by `new Worker(…, { eval: true })`: it needs only
 * Node's own modules, and so runs the same from TypeScript sources (tests, `start`) and from
 * the built bundle, where no separate worker file would exist.
 *
 * Outputs are copied into a buffer of their exact size and handed over (transferred), so
 * nothing larger than the result crosses or stays behind.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const zlib = require('node:zlib');
const { readFileSync } = require('node:fs');

const sha256 = data => createHash('sha256').update(data).digest('hex');

function exact(buffer) {
  const copy = new Uint8Array(buffer.length);
  copy.set(buffer);
  return copy;
}

parentPort.on('message', job => {
  try {
    if (job.op === 'hash') {
      parentPort.postMessage({ id: job.id, hash: sha256(job.data) });
    } else if (job.op === 'compress') {
      const frame = zlib.zstdCompressSync(job.data, {
        // One output buffer that holds any result: no second pass, no concatenation.
        chunkSize: Math.max(64 * 1024, job.data.length + 1024),
        params: {
          [zlib.constants.ZSTD_c_compressionLevel]: job.level,
          // The frame carries a checksum of its content that decompression checks.
          [zlib.constants.ZSTD_c_checksumFlag]: 1,
        },
      });
      const hash = sha256(frame);
      if (job.inPlace && frame.length <= job.data.length) {
        job.data.set(frame);
        parentPort.postMessage({ id: job.id, length: frame.length, hash });
      } else {
        const out = exact(frame);
        parentPort.postMessage({ id: job.id, data: out, hash }, [out.buffer]);
      }
    } else if (job.op === 'decompress') {
      const frame = job.file ? readFileSync(job.file) : job.data;
      if (job.frameHash && sha256(frame) !== job.frameHash) {
        const error = new Error('the frame does not match its hash');
        error.code = 'FRAME_HASH';
        error.frame = true;
        throw error;
      }
      let data;
      try {
        data = zlib.zstdDecompressSync(frame, {
          chunkSize: Math.max(64 * 1024, job.maxLength + 1024),
          maxOutputLength: job.maxLength,
        });
      } catch (error) {
        // zstd refused this frame: damaged data, unlike any other failure here.
        error.frame = true;
        throw error;
      }
      // A frame checked against its hash needs no hash of its (three times larger) content.
      const hash = job.frameHash ? undefined : sha256(data);
      if (job.into) {
        job.into.set(data);
        parentPort.postMessage({ id: job.id, length: data.length, hash });
      } else {
        const out = exact(data);
        parentPort.postMessage({ id: job.id, data: out, hash }, [out.buffer]);
      }
    } else {
      parentPort.postMessage({ id: job.id, error: 'unknown operation ' + job.op });
    }
  } catch (error) {
    parentPort.postMessage({
      id: job.id,
      error: String((error && error.message) || error),
      code: error && typeof error.code === 'string' ? error.code : undefined,
      frame: !!(error && error.frame),
    });
  }
});
`;

/**
 * Hashing (sha256), zstd compression and verified decompression of archive chunks, on a few
 * worker threads so the event loop that reads disks, serves NBD clients and talks to the
 * database never waits for them.
 *
 * Before, chunks were hashed on the event loop and compressed through `zlib`'s async API: a
 * first archive spent most of its time on the event loop (sha256, and garbage collection of
 * a zstd context and output buffer per chunk), while the export it is measured against ran at
 * full speed; see docs/benchmarks.md. A worker owns its garbage, and chunks held in shared
 * memory (the archive's read buffers are `SharedArrayBuffer`s) reach it without a copy.
 *
 * Workers start on first use and stop after a few idle seconds, so nothing outlives the work
 * (and tests need no teardown); an idle worker never keeps the process alive.
 */
export class ChunkCodec {
  private workers: CodecWorker[] = [];
  /** Jobs someone waits for to go on (hashes, verified reads) pass compression jobs. */
  private readonly urgent: QueuedJob[] = [];
  private readonly background: QueuedJob[] = [];
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: {
      /** Worker threads (default: the machine's cores, 1 to 4). */
      threads?: number;
      /** Stop the workers after this long without work (default 5 s). */
      idleMs?: number;
    } = {},
  ) {}

  /** The sha256 of `data`, hex. */
  async hash(data: Uint8Array): Promise<string> {
    const reply = await this.run({ op: 'hash' }, data);
    return reply.hash!;
  }

  /**
   * `data` compressed into one zstd frame at `level` (with zstd's content checksum), and the
   * sha256 of the frame. With `inPlace`, a chunk in shared memory whose bytes are no longer
   * needed is overwritten by its frame when the frame fits (it does unless the data does not
   * compress), and the result is a view of it: nothing is allocated on this thread, where
   * every large buffer adds to garbage collection.
   */
  async compress(
    data: Uint8Array,
    level: number,
    options: { inPlace?: boolean } = {},
  ): Promise<{ frame: Buffer; hash: string }> {
    const inPlace =
      !!options.inPlace && data.buffer instanceof SharedArrayBuffer;
    const reply = await this.run({ op: 'compress', level, inPlace }, data);
    return {
      frame:
        reply.data ?? Buffer.from(data.buffer, data.byteOffset, reply.length!),
      hash: reply.hash!,
    };
  }

  /**
   * One zstd frame decompressed; fails (with zstd's reason) when the frame is damaged or holds
   * more than `maxLength` bytes. With `frameHash`, the frame is first checked against it (a
   * mismatch is a `ChunkCodecError` with code `FRAME_HASH`); without, the result comes with
   * the sha256 of what came out, for the caller to check. The frame is given, or read by the
   * worker from a local `file` (a missing file is a `ChunkCodecError` with code `ENOENT`).
   * With `into` (shared memory, at least `maxLength` bytes) the result is written there and is
   * a view of it, so this thread allocates nothing.
   */
  async decompress(
    frame: Uint8Array | { file: string },
    maxLength: number,
    options: { into?: Uint8Array; frameHash?: string } = {},
  ): Promise<{ data: Buffer; hash: string | undefined }> {
    const { into, frameHash } = options;
    if (
      into &&
      (!(into.buffer instanceof SharedArrayBuffer) || into.length < maxLength)
    ) {
      throw new RangeError(
        `decompress needs shared memory of at least ${maxLength} bytes to write into`,
      );
    }
    const message: JobMessage = {
      op: 'decompress',
      maxLength,
      into,
      frameHash,
    };
    const reply =
      frame instanceof Uint8Array
        ? await this.run(message, frame)
        : await this.run({ ...message, file: frame.file });
    return {
      data:
        reply.data ??
        Buffer.from(into!.buffer, into!.byteOffset, reply.length!),
      hash: reply.hash,
    };
  }

  /** Stops the workers now; their running jobs fail, queued ones go to new workers. */
  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map(w => w.worker.terminate()));
  }

  private run(message: JobMessage, data?: Uint8Array): Promise<JobReply> {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    // Shared memory reaches the worker as is; anything else is copied once into a buffer of
    // its own that is handed over (cloning a view would copy its whole underlying buffer).
    let payload: Uint8Array | undefined;
    const transfer: ArrayBuffer[] = [];
    if (!data || data.buffer instanceof SharedArrayBuffer) {
      payload = data;
    } else {
      payload = new Uint8Array(data.length);
      payload.set(data);
      transfer.push(payload.buffer as ArrayBuffer);
    }
    return new Promise<JobReply>((resolve, reject) => {
      const job: QueuedJob = {
        id: this.nextId++,
        message,
        payload,
        transfer,
        resolve,
        reject,
      };
      this.queueOf(job).push(job);
      this.dispatch();
    });
  }

  private queueOf(job: QueuedJob): QueuedJob[] {
    return job.message.op === 'compress' ? this.background : this.urgent;
  }

  /** Gives every worker up to two jobs, so none waits for a round trip between jobs. */
  private dispatch() {
    if (this.urgent.length + this.background.length === 0) return;
    if (this.workers.length === 0) this.start();
    for (;;) {
      const worker = this.workers.find(w => w.running.size < IN_FLIGHT);
      if (!worker) return;
      const job = this.urgent.shift() ?? this.background.shift();
      if (!job) return;
      worker.running.set(job.id, job);
      worker.worker.ref();
      worker.worker.postMessage(
        { ...job.message, id: job.id, data: job.payload },
        job.transfer,
      );
    }
  }

  private start() {
    const threads =
      this.options.threads ??
      Math.max(1, Math.min(4, os.availableParallelism()));
    this.workers = Array.from({ length: threads }, () => {
      const worker = new Worker(WORKER_SOURCE, { eval: true });
      const entry: CodecWorker = { worker, running: new Map() };
      worker.on('message', (reply: WorkerReply) => this.settle(entry, reply));
      worker.on('error', error => this.lose(entry, error as Error));
      worker.on('exit', code =>
        this.lose(entry, new Error(`Chunk codec worker exited (${code})`)),
      );
      // Held while it has jobs (someone awaits them), released when idle: an idle worker
      // never keeps the process alive. (After the listeners, which would hold it again.)
      worker.unref();
      return entry;
    });
  }

  private settle(entry: CodecWorker, reply: WorkerReply) {
    const job = entry.running.get(reply.id);
    if (!job) return;
    entry.running.delete(reply.id);
    if (entry.running.size === 0) entry.worker.unref();
    if (reply.error !== undefined) {
      job.reject(new ChunkCodecError(reply.error, reply.code, !!reply.frame));
    } else {
      job.resolve({
        hash: reply.hash,
        length: reply.length,
        data: reply.data
          ? Buffer.from(
              reply.data.buffer,
              reply.data.byteOffset,
              reply.data.length,
            )
          : undefined,
      });
    }
    this.dispatch();
    this.scheduleIdleStop();
  }

  /**
   * A worker that died (or was stopped) fails the job it was running; the job waiting behind
   * it had not started and goes back to the queue, for the other workers or new ones, when
   * its data can be sent again (shared memory or a file; handed-over data went with the
   * worker, and that job fails too).
   */
  private lose(entry: CodecWorker, error: Error) {
    this.workers = this.workers.filter(w => w !== entry);
    const [running, ...waiting] = entry.running.values();
    entry.running.clear();
    running?.reject(error);
    for (const job of waiting.reverse()) {
      if (job.transfer.length > 0) {
        job.reject(error);
        continue;
      }
      this.queueOf(job).unshift(job);
    }
    this.dispatch();
    this.scheduleIdleStop();
  }

  private scheduleIdleStop() {
    const busy =
      this.urgent.length +
      this.background.length +
      this.workers.reduce((n, w) => n + w.running.size, 0);
    if (busy > 0 || this.idleTimer) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      void this.close();
    }, this.options.idleMs ?? 5000);
    this.idleTimer.unref();
  }
}

interface JobMessage {
  op: 'hash' | 'compress' | 'decompress';
  level?: number;
  inPlace?: boolean;
  maxLength?: number;
  /** Decompress: write the result here (shared memory). */
  into?: Uint8Array;
  /** Decompress: read the frame from this file. */
  file?: string;
  /** Decompress: the sha256 the frame must have. */
  frameHash?: string;
}

interface QueuedJob {
  id: number;
  message: JobMessage;
  payload: Uint8Array | undefined;
  transfer: ArrayBuffer[];
  resolve: (reply: JobReply) => void;
  reject: (error: Error) => void;
}

interface CodecWorker {
  worker: Worker;
  running: Map<number, QueuedJob>;
}

interface JobReply {
  hash?: string;
  data?: Buffer;
  /** Bytes of the result written over the job's data. */
  length?: number;
}

interface WorkerReply {
  id: number;
  hash?: string;
  data?: Uint8Array;
  length?: number;
  error?: string;
  code?: string;
  frame?: boolean;
}
