import fs from 'node:fs/promises';
import net from 'node:net';

/**
 * A read-only NBD export of one disk on a unix socket (the "fixed newstyle" handshake of the NBD
 * protocol, `NBD_OPT_GO`/`NBD_OPT_EXPORT_NAME`; simple or structured replies to `NBD_CMD_READ`;
 * the `base:allocation` metadata context answering `NBD_CMD_BLOCK_STATUS`), so
 * `qemu-img convert nbd+unix:///?socket=…` can read an archived disk straight from the chunk
 * store: no raw scratch image is written first, and the reader skips the ranges the export says
 * read as zeros instead of reading them. Only this process's user can reach the socket.
 */

const NBDMAGIC = Buffer.from('NBDMAGIC');
const IHAVEOPT = Buffer.from('IHAVEOPT');
const OPTION_REPLY_MAGIC = 0x0003e889045565a9n;
const REQUEST_MAGIC = 0x25609513;
const SIMPLE_REPLY_MAGIC = 0x67446698;
const STRUCTURED_REPLY_MAGIC = 0x668e33ef;

const FLAG_FIXED_NEWSTYLE = 1;
const FLAG_NO_ZEROES = 2;
const CLIENT_FLAG_NO_ZEROES = 2;

const OPT_EXPORT_NAME = 1;
const OPT_ABORT = 2;
const OPT_INFO = 6;
const OPT_GO = 7;
const OPT_STRUCTURED_REPLY = 8;
const OPT_LIST_META_CONTEXT = 9;
const OPT_SET_META_CONTEXT = 10;

const REP_ACK = 1;
const REP_INFO = 3;
const REP_META_CONTEXT = 4;
const REP_ERR_UNSUP = 0x80000001;
const REP_ERR_INVALID = 0x80000003;

/** The one metadata context: which ranges read as zeros. Its id in this export. */
const BASE_ALLOCATION = 'base:allocation';
const BASE_ALLOCATION_ID = 1;
const STATE_HOLE = 1;
const STATE_ZERO = 2;

const INFO_EXPORT = 0;
const TRANSMISSION_FLAGS = 1 /* HAS_FLAGS */ | 2; /* READ_ONLY */

const CMD_READ = 0;
const CMD_DISC = 2;
const CMD_BLOCK_STATUS = 7;
const CMD_FLAG_REQ_ONE = 1 << 3;

const REPLY_FLAG_DONE = 1;
const REPLY_TYPE_NONE = 0;
const REPLY_TYPE_OFFSET_DATA = 1;
const REPLY_TYPE_BLOCK_STATUS = 5;
const REPLY_TYPE_ERROR = (1 << 15) + 1;
/** Extents one block-status reply lists at most (the client asks again from where it ends). */
const MAX_EXTENTS = 1024;

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

/** A run of the exported disk: `zero` when all of it reads as zeros. */
export interface Extent {
  length: number;
  zero: boolean;
}

/**
 * The runs of `length` bytes from `offset` (in order, adjacent, together at most `length`; at
 * least one when `length` > 0), for readers that skip zeros (NBD block status).
 */
export type ExtentsAt = (offset: number, length: number) => Extent[];

/** What an export serves: the disk's size, its bytes and, if known, where it reads as zeros. */
export interface NbdSource {
  sizeBytes: number;
  read: ReadAt;
  extents?: ExtentsAt;
}

export interface NbdExport {
  /** For `qemu-img`: `nbd+unix:///?socket=…`. */
  readonly url: string;
  /** The first read that failed, if any (the client only sees EIO). */
  readonly failure: Error | undefined;
  close(): Promise<void>;
}

export async function serveNbd(
  options: NbdSource & { socketPath: string },
): Promise<NbdExport> {
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

/** The header of the only (`DONE`) chunk of a structured reply, `length` bytes of payload to follow. */
function structuredChunk(cookie: Buffer, type: number, length: number) {
  const head = Buffer.alloc(20);
  head.writeUInt32BE(STRUCTURED_REPLY_MAGIC, 0);
  head.writeUInt16BE(REPLY_FLAG_DONE, 4);
  head.writeUInt16BE(type, 6);
  cookie.copy(head, 8);
  head.writeUInt32BE(length, 16);
  return head;
}

function structuredError(cookie: Buffer, error: number, message: string) {
  const text = Buffer.from(message);
  const payload = Buffer.alloc(6);
  payload.writeUInt32BE(error, 0);
  payload.writeUInt16BE(text.length, 4);
  return Buffer.concat([
    structuredChunk(cookie, REPLY_TYPE_ERROR, payload.length + text.length),
    payload,
    text,
  ]);
}

/**
 * The metadata contexts an `NBD_OPT_LIST_META_CONTEXT`/`NBD_OPT_SET_META_CONTEXT` option asks
 * for, or undefined when its data is malformed. Data: export name (u32 length, bytes), query
 * count (u32), queries (u32 length, bytes each).
 */
function metaContextQueries(data: Buffer): string[] | undefined {
  let at = 0;
  const string = () => {
    if (at + 4 > data.length) return undefined;
    const length = data.readUInt32BE(at);
    if (at + 4 + length > data.length) return undefined;
    const text = data.toString('utf8', at + 4, at + 4 + length);
    at += 4 + length;
    return text;
  };
  if (string() === undefined || at + 4 > data.length) return undefined;
  const count = data.readUInt32BE(at);
  at += 4;
  const queries: string[] = [];
  for (let i = 0; i < count; i++) {
    const query = string();
    if (query === undefined) return undefined;
    queries.push(query);
  }
  return at === data.length ? queries : undefined;
}

/**
 * The `NBD_REPLY_TYPE_BLOCK_STATUS` payload for `length` bytes from `offset`: the source's
 * extents (past its end: zeros), adjacent ones of a kind merged; only the first with `one`.
 */
function blockStatus(
  options: { sizeBytes: number; extents: ExtentsAt },
  offset: number,
  length: number,
  one: boolean,
): Buffer {
  const inside = Math.max(0, Math.min(length, options.sizeBytes - offset));
  const runs: Extent[] = [];
  const add = (run: Extent) => {
    const last = runs[runs.length - 1];
    if (last && last.zero === run.zero) last.length += run.length;
    else if (run.length > 0) runs.push({ ...run });
  };
  let covered = 0;
  if (inside > 0) {
    for (const run of options.extents(offset, inside)) {
      const take = Math.min(run.length, inside - covered);
      add({ length: take, zero: run.zero });
      covered += take;
      if (covered >= inside) break;
    }
  }
  if (covered < inside) {
    throw new Error(
      `Extents of ${inside} bytes at ${offset} cover ${covered} bytes`,
    );
  }
  if (inside < length) add({ length: length - inside, zero: true });
  const listed = runs.slice(0, one ? 1 : MAX_EXTENTS);
  const payload = Buffer.alloc(4 + 8 * listed.length);
  payload.writeUInt32BE(BASE_ALLOCATION_ID, 0);
  listed.forEach((run, n) => {
    payload.writeUInt32BE(run.length, 4 + 8 * n);
    payload.writeUInt32BE(run.zero ? STATE_HOLE | STATE_ZERO : 0, 8 + 8 * n);
  });
  return payload;
}

async function handle(
  socket: net.Socket,
  options: NbdSource,
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
  /** Negotiated: structured replies, and the base:allocation context (block status). */
  let structured = false;
  let allocation = false;

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
    if (option === OPT_STRUCTURED_REPLY) {
      if (length !== 0) {
        socket.write(optionReply(option, REP_ERR_INVALID));
        continue;
      }
      structured = true;
      socket.write(optionReply(option, REP_ACK));
      continue;
    }
    if (option === OPT_LIST_META_CONTEXT || option === OPT_SET_META_CONTEXT) {
      const queries = metaContextQueries(data);
      if (!structured || !queries) {
        socket.write(optionReply(option, REP_ERR_INVALID));
        continue;
      }
      const listing = option === OPT_LIST_META_CONTEXT;
      // Listing with no query names every context; "base:" names all of that namespace.
      const wanted =
        options.extents !== undefined &&
        ((listing && queries.length === 0) ||
          queries.some(
            q => q === BASE_ALLOCATION || (listing && q === 'base:'),
          ));
      if (!listing) allocation = wanted;
      if (wanted) {
        const name = Buffer.from(BASE_ALLOCATION);
        const context = Buffer.alloc(4 + name.length);
        context.writeUInt32BE(listing ? 0 : BASE_ALLOCATION_ID, 0);
        name.copy(context, 4);
        socket.write(optionReply(option, REP_META_CONTEXT, context));
      }
      socket.write(optionReply(option, REP_ACK));
      continue;
    }
    socket.write(optionReply(option, REP_ERR_UNSUP));
  }

  /** An error reply: structured (with a message) once negotiated, simple otherwise. */
  const fail = (cookie: Buffer, error: number, message: string) =>
    socket.write(
      structured
        ? structuredError(cookie, error, message)
        : simpleReply(cookie, error),
    );

  // Transmission: requests may be pipelined; each read is answered when its data is ready.
  for (;;) {
    const request = await input.take(28);
    if (!request) return;
    if (request.readUInt32BE(0) !== REQUEST_MAGIC) {
      socket.destroy();
      return;
    }
    const flags = request.readUInt16BE(4);
    const type = request.readUInt16BE(6);
    const cookie = Buffer.from(request.subarray(8, 16));
    const offset = Number(request.readBigUInt64BE(16));
    const length = request.readUInt32BE(24);
    if (type === CMD_DISC) {
      socket.end();
      return;
    }
    if (type === CMD_BLOCK_STATUS && allocation && options.extents) {
      if (length === 0 || offset + length > exportSize) {
        fail(cookie, EINVAL, `Block status of ${length} bytes at ${offset}`);
        continue;
      }
      let payload: Buffer;
      try {
        payload = blockStatus(
          { sizeBytes: options.sizeBytes, extents: options.extents },
          offset,
          length,
          (flags & CMD_FLAG_REQ_ONE) !== 0,
        );
      } catch (error) {
        onFailure(error as Error);
        fail(cookie, EIO, (error as Error).message);
        continue;
      }
      socket.write(
        Buffer.concat([
          structuredChunk(cookie, REPLY_TYPE_BLOCK_STATUS, payload.length),
          payload,
        ]),
      );
      continue;
    }
    if (type !== CMD_READ) {
      // A write carries data we must skip to stay in step; this export refuses all of them.
      if (type === 1) await input.take(length);
      fail(cookie, type === 1 ? EPERM : EINVAL, `Command ${type} refused`);
      continue;
    }
    if (offset + length > exportSize) {
      fail(cookie, EINVAL, `Read of ${length} bytes at ${offset}`);
      continue;
    }
    if (length === 0 && structured) {
      // A data chunk carries at least one byte: nothing to read is an empty reply.
      socket.write(structuredChunk(cookie, REPLY_TYPE_NONE, 0));
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
        if (structured) {
          const head = structuredChunk(
            cookie,
            REPLY_TYPE_OFFSET_DATA,
            8 + length,
          );
          const at = Buffer.alloc(8);
          at.writeBigUInt64BE(BigInt(offset), 0);
          socket.write(Buffer.concat([head, at]));
        } else {
          socket.write(simpleReply(cookie, 0));
        }
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
        if (!socket.destroyed) fail(cookie, EIO, (error as Error).message);
      },
    );
  }
}
