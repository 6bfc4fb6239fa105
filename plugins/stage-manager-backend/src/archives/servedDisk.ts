import {
  HypervisorDriver,
  PoolLocation,
} from '@internal/plugin-stage-manager-node';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DiskSource } from './ChunkRepository';
import { NbdClient } from './NbdClient';

/**
 * Reads a disk of a pool through the driver's NBD export (`serveDisk`): the socket lives in a
 * private folder of its own, the client and server are closed and the folder removed whatever
 * happens. The source skips the ranges the driver says hold no data.
 */
export async function withServedDisk<T>(
  driver: HypervisorDriver,
  request: { pool: PoolLocation; disk: string },
  fn: (source: DiskSource) => Promise<T>,
): Promise<T> {
  if (!driver.serveDisk) {
    throw new Error(`Driver ${driver.id} cannot serve disks over NBD`);
  }
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sm-nbd-'));
  try {
    const server = await driver.serveDisk({
      ...request,
      socketPath: path.join(dir, 'disk.sock'),
    });
    try {
      const client = await NbdClient.connect(server.socketPath);
      try {
        if (client.sizeBytes < server.virtualSizeBytes) {
          throw new Error(
            `The NBD export of disk ${request.disk} has ${client.sizeBytes} bytes, the disk ${server.virtualSizeBytes}`,
          );
        }
        return await fn({
          sizeBytes: server.virtualSizeBytes,
          read: (buffer, offset) => client.read(buffer, offset),
          dataRanges: server.dataRanges,
          extents: server.extents,
        });
      } finally {
        await client.close();
      }
    } finally {
      await server.close();
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
