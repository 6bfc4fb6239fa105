import fs from 'node:fs/promises';
import net from 'node:net';

/**
 * A read-only NBD export of one disk on a unix socket (the "fixed newstyle" handshake of the NBD
 * protocol, `NBD_OPT_GO`/`NBD_OPT_EXPORT_NAME`, simple replies to `NBD_CMD_READ`), so
 * `qemu-img convert nbd+unix:///?socket=…` can read an archived disk straight from the chunk
 * store: no raw scratch image is written first. Only this process's user can reach the socket.
 */

const NBDMAGIC = Buffer.from('NBDMAGIC');
const IHAVEOPT = Buffer.from('IHAVEOPT');
const OPTION_REPLY_MAGIC = 0x0003e889045565a9n;
const REQUEST_MAGIC = 0x25609513;
const SIMPLE_REPLY_MAGIC = 0x67446698;

const FLAG_FIXED_NEWSTYLE = 1;
const FLAG_NO_ZEROES = 2;
const CLIENT_FLAG_NO_ZEROES = 2;

const OPT_EXPORT_NAME = 1;
const OPT_ABORT = 2;
const OPT_INFO = 6;
const OPT_GO = 7;

const REP_ACK = 1;
const REP_INFO = 3;
const REP_ERR_UNSUP = 0x80000001;

const INFO_EXPORT = 0;
const TRANSMISSION_FLAGS = 1 /* HAS_FLAGS */ | 2; /* READ_ONLY */

const CMD_READ = 0;
const CMD_DISC = 2;

const EIO = 5;
const EPERM = 1;
const EINVAL = 22;

/**
 * Reads `length` bytes at `offset` of the exported disk: one buffer, or several in order (sent
 * as they are, so a read across chunks needs no copy). A reader that reuses its buffers returns
 * `{ parts, release }`: `release` is called once the parts have been handed to the kernel (or
 * will never be sent), and the parts must not change before.
 */
export type ReadAt = (
  offset: number,
  length: number,
) => Promise<Buffer | Buffer[] | ReadResult>;

export interface ReadResult {
  parts: Buffer[];
  release(): void;
}

export interface NbdExport {
  /** For `qemu-img`: `nbd+unix:///?socket=…`. */
  readonly url: string;
  /** The first read that failed, if any (the client only sees EIO). */
  readonly failure: Error | undefined;
  close(): Promise<void>;
}

export async function serveNbd(options: {
  socketPath: string;
  sizeBytes: number;
  read: ReadAt;
}): Promise<NbdExport> {
  let failure: Error | undefined;
  const sockets = new Set<net.Socket>();
  const server = net.createServer(socket => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    handle(socket, options, error => {
      failure ??= error;
    });
  });
  await fs.rm(options.socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.socketPath, () => resolve());
  });
  await fs.chmod(options.socketPath, 0o600);
  return {
    url: `nbd+unix:///?socket=${options.socketPath}`,
    get failure() {
      return failure;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>(resolve => server.close(() => resolve()));
      await fs.rm(options.socketPath, { force: true });
    },
  };
}

/** A byte queue the protocol reads fixed-size pieces from. */
class Input {
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: (() => void) | undefined;
  private ended = false;

  constructor(socket: net.Socket) {
    socket.on('data', (data: Buffer) => {
      this.buffer =
        this.buffer.length === 0 ? data : Buffer.concat([this.buffer, data]);
      this.waiting?.();
    });
    socket.on('close', () => {
      this.ended = true;
      this.waiting?.();
    });
  }

  async take(n: number): Promise<Buffer | undefined> {
    while (this.buffer.length < n) {
      if (this.ended) return undefined;
      await new Promise<void>(resolve => (this.waiting = resolve));
      this.waiting = undefined;
    }
    const piece = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(n);
    return piece;
  }
}

function optionReply(option: number, type: number, data = Buffer.alloc(0)) {
  const head = Buffer.alloc(20);
  head.writeBigUInt64BE(OPTION_REPLY_MAGIC, 0);
  head.writeUInt32BE(option, 8);
  head.writeUInt32BE(type, 12);
  head.writeUInt32BE(data.length, 16);
  return Buffer.concat([head, data]);
}

function simpleReply(cookie: Buffer, error: number) {
  const reply = Buffer.alloc(16);
  reply.writeUInt32BE(SIMPLE_REPLY_MAGIC, 0);
  reply.writeUInt32BE(error, 4);
  cookie.copy(reply, 8);
  return reply;
}

async function handle(
  socket: net.Socket,
  options: { sizeBytes: number; read: ReadAt },
  onFailure: (error: Error) => void,
) {
  // NBD clients read whole 512-byte sectors: a size that is not a multiple is rounded up and
  // the bytes past the disk's end read as zeros (disk images always are multiples).
  const exportSize = Math.ceil(options.sizeBytes / 512) * 512;
  const read = async (offset: number, length: number): Promise<ReadResult> => {
    const inside = Math.max(0, Math.min(length, options.sizeBytes - offset));
    const data = inside > 0 ? await options.read(offset, inside) : [];
    const result: ReadResult =
      'parts' in data
        ? data
        : { parts: Array.isArray(data) ? data : [data], release: () => {} };
    const got = result.parts.reduce((n, p) => n + p.length, 0);
    if (got !== inside) {
      result.release();
      throw new Error(
        `Read of ${inside} bytes at ${offset} returned ${got} bytes`,
      );
    }
    if (inside < length) result.parts.push(Buffer.alloc(length - inside));
    return result;
  };
  const input = new Input(socket);
  const hello = Buffer.alloc(18);
  NBDMAGIC.copy(hello, 0);
  IHAVEOPT.copy(hello, 8);
  hello.writeUInt16BE(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES, 16);
  socket.write(hello);
  const clientFlags = await input.take(4);
  if (!clientFlags) return;
  const noZeroes = (clientFlags.readUInt32BE(0) & CLIENT_FLAG_NO_ZEROES) !== 0;

  const exportInfo = () => {
    const info = Buffer.alloc(12);
    info.writeUInt16BE(INFO_EXPORT, 0);
    info.writeBigUInt64BE(BigInt(exportSize), 2);
    info.writeUInt16BE(TRANSMISSION_FLAGS, 10);
    return info;
  };

  // Option haggling
  for (;;) {
    const head = await input.take(16);
    if (!head || !head.subarray(0, 8).equals(IHAVEOPT)) {
      socket.destroy();
      return;
    }
    const option = head.readUInt32BE(8);
    const length = head.readUInt32BE(12);
    if (length > 65536) {
      socket.destroy();
      return;
    }
    const data = await input.take(length);
    if (!data) return;
    if (option === OPT_EXPORT_NAME) {
      const reply = Buffer.alloc(noZeroes ? 10 : 134);
      reply.writeBigUInt64BE(BigInt(exportSize), 0);
      reply.writeUInt16BE(TRANSMISSION_FLAGS, 8);
      socket.write(reply);
      break;
    }
    if (option === OPT_GO || option === OPT_INFO) {
      socket.write(optionReply(option, REP_INFO, exportInfo()));
      socket.write(optionReply(option, REP_ACK));
      if (option === OPT_GO) break;
      continue;
    }
    if (option === OPT_ABORT) {
      socket.end(optionReply(option, REP_ACK));
      return;
    }
    socket.write(optionReply(option, REP_ERR_UNSUP));
  }

  // Transmission: requests may be pipelined; each read is answered when its data is ready.
  for (;;) {
    const request = await input.take(28);
    if (!request) return;
    if (request.readUInt32BE(0) !== REQUEST_MAGIC) {
      socket.destroy();
      return;
    }
    const type = request.readUInt16BE(6);
    const cookie = Buffer.from(request.subarray(8, 16));
    const offset = Number(request.readBigUInt64BE(16));
    const length = request.readUInt32BE(24);
    if (type === CMD_DISC) {
      socket.end();
      return;
    }
    if (type !== CMD_READ) {
      // A write carries data we must skip to stay in step; this export refuses all of them.
      if (type === 1) await input.take(length);
      socket.write(simpleReply(cookie, EPERM));
      continue;
    }
    if (offset + length > exportSize) {
      socket.write(simpleReply(cookie, EINVAL));
      continue;
    }
    read(offset, length).then(
      ({ parts, release }) => {
        if (socket.destroyed) {
          release();
          return;
        }
        // Header and data as one write of several buffers: no copy of the data. The reader's
        // buffers are released once the kernel has them (or the write failed).
        socket.cork();
        socket.write(simpleReply(cookie, 0));
        parts.forEach((part, n) =>
          socket.write(
            part,
            n === parts.length - 1 ? () => release() : undefined,
          ),
        );
        if (parts.length === 0) release();
        process.nextTick(() => socket.uncork());
      },
      error => {
        onFailure(error);
        if (!socket.destroyed) socket.write(simpleReply(cookie, EIO));
      },
    );
  }
}
