import net from 'node:net';

/**
 * A client of a read-only NBD export on a unix socket (the "fixed newstyle" handshake with
 * `NBD_OPT_GO`, simple replies to pipelined `NBD_CMD_READ`s), so an archive reads a disk straight
 * from the driver's NBD server (`qemu-nbd`) instead of from a raw copy written first. Replies are
 * copied straight into the caller's buffers.
 */

const NBDMAGIC = Buffer.from('NBDMAGIC');
const IHAVEOPT = Buffer.from('IHAVEOPT');
const OPTION_REPLY_MAGIC = 0x0003e889045565a9n;
const REQUEST_MAGIC = 0x25609513;
const SIMPLE_REPLY_MAGIC = 0x67446698;

const FLAG_FIXED_NEWSTYLE = 1;
const CLIENT_FLAG_FIXED_NEWSTYLE = 1;
const CLIENT_FLAG_NO_ZEROES = 2;

const OPT_GO = 7;
const REP_ACK = 1;
const REP_INFO = 3;
const REP_FLAG_ERROR = 0x80000000;
const INFO_EXPORT = 0;

const CMD_READ = 0;
const CMD_DISC = 2;

/** The largest read one request asks for (qemu-nbd accepts up to 32 MiB). */
const MAX_REQUEST = 32 * 1024 * 1024;

/** The socket's reads land in one reused buffer; each is handed to whoever listens now. */
const RECEIVE_BUFFER_BYTES = 1024 * 1024;

/** A byte queue the handshake reads fixed-size pieces from. */
class HandshakeInput {
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: (() => void) | undefined;
  private ended = false;
  /** Copies: the socket's receive buffer is reused by the next read. */
  readonly onData = (data: Buffer) => {
    this.buffer = Buffer.concat([this.buffer, data]);
    this.waiting?.();
  };
  private readonly onEnd = () => {
    this.ended = true;
    this.waiting?.();
  };

  constructor(private readonly socket: net.Socket) {
    socket.on('close', this.onEnd);
  }

  async take(n: number): Promise<Buffer> {
    while (this.buffer.length < n) {
      if (this.ended) {
        throw new Error(
          'NBD server closed the connection during the handshake',
        );
      }
      await new Promise<void>(resolve => (this.waiting = resolve));
      this.waiting = undefined;
    }
    const piece = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(n);
    return piece;
  }

  /** Stops listening; returns what arrived beyond the handshake. */
  detach(): Buffer {
    this.socket.off('close', this.onEnd);
    return this.buffer;
  }
}

interface PendingRead {
  offset: number;
  buffer: Buffer;
  filled: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class NbdClient {
  private readonly pending = new Map<bigint, PendingRead>();
  private nextCookie = 1n;
  private readonly header = Buffer.alloc(16);
  private headerFilled = 0;
  private receiving: PendingRead | undefined;
  private failure: Error | undefined;

  private constructor(
    private readonly socket: net.Socket,
    /** The export's size in bytes. */
    readonly sizeBytes: number,
    leftover: Buffer,
    listen: (sink: (data: Buffer) => void) => void,
  ) {
    listen(data => this.receive(data));
    socket.on('error', error => this.fail(error));
    socket.on('close', () =>
      this.fail(new Error('NBD server closed the connection')),
    );
    if (leftover.length > 0) this.receive(leftover);
  }

  /** Connects and negotiates the default export. */
  static async connect(
    socketPath: string,
    options: { timeoutMs?: number } = {},
  ): Promise<NbdClient> {
    // Reads land in one reused buffer instead of a fresh one per read (which made garbage
    // collection a main cost of reading a disk); replies are copied from it into the callers'
    // buffers, the handshake copies what it keeps.
    let sink: (data: Buffer) => void = () => undefined;
    const socket = net.createConnection({
      path: socketPath,
      onread: {
        buffer: Buffer.allocUnsafe(RECEIVE_BUFFER_BYTES),
        callback: (bytes: number, buffer: Uint8Array) => {
          sink(Buffer.from(buffer.buffer, buffer.byteOffset, bytes));
          return true; // keep reading
        },
      },
    });
    const timer = setTimeout(
      () =>
        socket.destroy(new Error(`NBD handshake with ${socketPath} timed out`)),
      options.timeoutMs ?? 30_000,
    );
    let connectError: Error | undefined;
    socket.once('error', error => {
      connectError = error;
    });
    const input = new HandshakeInput(socket);
    sink = input.onData;
    try {
      const hello = await input.take(18);
      if (
        !hello.subarray(0, 8).equals(NBDMAGIC) ||
        !hello.subarray(8, 16).equals(IHAVEOPT) ||
        (hello.readUInt16BE(16) & FLAG_FIXED_NEWSTYLE) === 0
      ) {
        throw new Error(`${socketPath} is not a fixed-newstyle NBD server`);
      }
      const flags = Buffer.alloc(4);
      flags.writeUInt32BE(CLIENT_FLAG_FIXED_NEWSTYLE | CLIENT_FLAG_NO_ZEROES);
      // NBD_OPT_GO for the default export (empty name), no particular information requested.
      const go = Buffer.alloc(16 + 6);
      IHAVEOPT.copy(go, 0);
      go.writeUInt32BE(OPT_GO, 8);
      go.writeUInt32BE(6, 12);
      socket.write(Buffer.concat([flags, go]));

      let sizeBytes: number | undefined;
      for (;;) {
        const head = await input.take(20);
        if (head.readBigUInt64BE(0) !== OPTION_REPLY_MAGIC) {
          throw new Error('NBD server sent a malformed option reply');
        }
        const type = head.readUInt32BE(12);
        const data = await input.take(head.readUInt32BE(16));
        if (type & REP_FLAG_ERROR) {
          throw new Error(
            `NBD server refused the export (error ${type & ~REP_FLAG_ERROR}${
              data.length ? `: ${data.toString('utf8')}` : ''
            })`,
          );
        }
        if (
          type === REP_INFO &&
          data.length >= 12 &&
          data.readUInt16BE(0) === INFO_EXPORT
        ) {
          sizeBytes = Number(data.readBigUInt64BE(2));
        }
        if (type === REP_ACK) break;
      }
      if (sizeBytes === undefined) {
        throw new Error('NBD server did not tell the export size');
      }
      return new NbdClient(socket, sizeBytes, input.detach(), receive => {
        sink = receive;
      });
    } catch (error) {
      socket.destroy();
      throw connectError ?? error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Fills `buffer` with the export's bytes from `offset`. Reads may be issued concurrently. */
  read(buffer: Buffer, offset: number): Promise<void> {
    if (offset < 0 || offset + buffer.length > this.sizeBytes) {
      return Promise.reject(
        new RangeError(
          `NBD read of ${buffer.length} bytes at ${offset} is outside the export (${this.sizeBytes} bytes)`,
        ),
      );
    }
    if (buffer.length > MAX_REQUEST) {
      const parts: Array<Promise<void>> = [];
      for (let at = 0; at < buffer.length; at += MAX_REQUEST) {
        parts.push(
          this.read(
            buffer.subarray(at, Math.min(buffer.length, at + MAX_REQUEST)),
            offset + at,
          ),
        );
      }
      return Promise.all(parts).then(() => undefined);
    }
    if (buffer.length === 0) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const cookie = this.nextCookie++;
      this.pending.set(cookie, {
        offset,
        buffer,
        filled: 0,
        resolve,
        reject,
      });
      const request = Buffer.alloc(28);
      request.writeUInt32BE(REQUEST_MAGIC, 0);
      request.writeUInt16BE(0, 4);
      request.writeUInt16BE(CMD_READ, 6);
      request.writeBigUInt64BE(cookie, 8);
      request.writeBigUInt64BE(BigInt(offset), 16);
      request.writeUInt32BE(buffer.length, 24);
      this.socket.write(request);
    });
  }

  /** Says goodbye to the server and closes the connection. */
  async close(): Promise<void> {
    if (!this.socket.destroyed && !this.failure) {
      const disconnect = Buffer.alloc(28);
      disconnect.writeUInt32BE(REQUEST_MAGIC, 0);
      disconnect.writeUInt16BE(CMD_DISC, 6);
      await new Promise<void>(resolve => this.socket.end(disconnect, resolve));
    }
    this.fail(new Error('NBD connection closed'));
    this.socket.destroy();
  }

  private receive(data: Buffer) {
    let at = 0;
    while (at < data.length) {
      const current = this.receiving;
      if (current) {
        const n = Math.min(
          data.length - at,
          current.buffer.length - current.filled,
        );
        data.copy(current.buffer, current.filled, at, at + n);
        current.filled += n;
        at += n;
        if (current.filled === current.buffer.length) {
          this.receiving = undefined;
          current.resolve();
        }
        continue;
      }
      const n = Math.min(data.length - at, 16 - this.headerFilled);
      data.copy(this.header, this.headerFilled, at, at + n);
      this.headerFilled += n;
      at += n;
      if (this.headerFilled < 16) continue;
      this.headerFilled = 0;
      if (this.header.readUInt32BE(0) !== SIMPLE_REPLY_MAGIC) {
        this.fail(new Error('NBD server sent a malformed reply'));
        this.socket.destroy();
        return;
      }
      const error = this.header.readUInt32BE(4);
      const cookie = this.header.readBigUInt64BE(8);
      const request = this.pending.get(cookie);
      if (!request) {
        this.fail(new Error(`NBD server answered an unknown request`));
        this.socket.destroy();
        return;
      }
      this.pending.delete(cookie);
      if (error !== 0) {
        request.reject(
          new Error(
            `NBD read of ${request.buffer.length} bytes at ${request.offset} failed (error ${error})`,
          ),
        );
      } else {
        this.receiving = request;
      }
    }
  }

  private fail(error: Error) {
    this.failure ??= error;
    this.receiving?.reject(this.failure);
    this.receiving = undefined;
    for (const request of this.pending.values()) request.reject(this.failure);
    this.pending.clear();
  }
}
