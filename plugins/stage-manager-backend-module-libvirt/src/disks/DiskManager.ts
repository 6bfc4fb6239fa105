import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import {
  CreateDiskRequest,
  DiskExportInfo,
  DiskExtent,
  DiskInfo,
  DiskRange,
  DiskServer,
  ExportDiskRequest,
  ImageInfo,
  ImportDiskRequest,
  PoolLocation,
  ServeDiskRequest,
} from '@internal/plugin-stage-manager-node';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { stopChild } from '../exec/stopChild';
import { runCommand } from '../exec/runCommand';
import { checkName, checkPath, OBJECT_NAME } from '../names';

const GiB = 1024 ** 3;

/** What qemu-img says about one image of a chain. */
interface QemuImgInfo {
  filename: string;
  format: string;
  'virtual-size': number;
  'actual-size'?: number;
  'full-backing-filename'?: string;
  'backing-filename'?: string;
}

/** One extent of `qemu-img map --output=json`. */
interface QemuImgMapEntry {
  start: number;
  length: number;
  data: boolean;
  zero: boolean;
  /** Which image of the backing chain holds it (0: the disk's own file). */
  depth?: number;
  /** Where in that image's file. */
  offset?: number;
}

/**
 * The data extents with the backing file holding each. Only backing files (depth ≥ 1) are
 * named: they are frozen layers nothing writes; the disk's own file may change under a reader.
 */
export function extentsOf(
  map: QemuImgMapEntry[],
  chain: string[],
): DiskExtent[] {
  return map
    .filter(e => e.data && !e.zero && e.length > 0)
    .map(e =>
      e.depth && e.depth > 0 && chain[e.depth] && e.offset !== undefined
        ? {
            offset: e.start,
            length: e.length,
            layer: chain[e.depth],
            layerOffset: e.offset,
          }
        : { offset: e.start, length: e.length },
    );
}

/** The extents that may hold data (not known to read as zeros), adjacent ones merged. */
export function dataRangesOf(map: QemuImgMapEntry[]): DiskRange[] {
  const ranges: DiskRange[] = [];
  for (const e of [...map].sort((a, b) => a.start - b.start)) {
    if (!e.data || e.zero || e.length <= 0) continue;
    const last = ranges[ranges.length - 1];
    if (last && last.offset + last.length === e.start) {
      last.length += e.length;
    } else {
      ranges.push({ offset: e.start, length: e.length });
    }
  }
  return ranges;
}

/** Sidecar metadata of a disk: who owns it. qcow2 has no place for it. */
interface DiskMeta {
  deploymentId?: string;
  createdAt: string;
  source?: string;
  mode?: 'linked' | 'full' | 'blank' | 'import';
  /** On an overlay made by freezeMachineDisks: the freeze's tag (its source is the layer). */
  freezeTag?: string;
}

/**
 * Machine disks as qcow2 files in a pool's folder, named `<disk>.qcow2` with a
 * `<disk>.meta.json` beside it. Linked clones use a backing file (absolute path); the chain is
 * read back from qemu-img, so a disk that others depend on is never deleted.
 */
export class DiskManager {
  poolDir(pool: PoolLocation): string {
    const dir = pool.location.path;
    if (!dir) {
      throw new InputError(
        `Pool ${pool.name} has no location.path for the libvirt driver`,
      );
    }
    return path.resolve(dir);
  }

  diskPath(pool: PoolLocation, disk: string): string {
    return path.join(
      this.poolDir(pool),
      `${checkName('disk name', disk)}.qcow2`,
    );
  }

  private metaPath(diskPath: string) {
    return diskPath.replace(/\.qcow2$/, '.meta.json');
  }

  /** The disk name of a file when it is a disk of the pool (`<pool>/sm-….qcow2`). */
  nameOf(pool: PoolLocation, file: string): string | undefined {
    const name = path.basename(file, '.qcow2');
    if (!OBJECT_NAME.test(name) || `${name}.qcow2` !== path.basename(file)) {
      return undefined;
    }
    return this.diskPath(pool, name) === file ? name : undefined;
  }

  /** A base image (absolute path) or a disk of the pool, as a file path. */
  private resolveSource(pool: PoolLocation, source: string): string {
    return source.startsWith('/')
      ? checkPath('source image', source)
      : this.diskPath(pool, source);
  }

  async info(file: string): Promise<QemuImgInfo[]> {
    const { stdout } = await runCommand([
      'qemu-img',
      'info',
      '--output=json',
      '--backing-chain',
      '-U',
      file,
    ]);
    const parsed = JSON.parse(stdout);
    return Array.isArray(parsed) ? parsed : [parsed];
  }

  async describe(file: string): Promise<DiskInfo> {
    const [top, ...chain] = await this.info(file);
    return {
      name: path.basename(file).replace(/\.qcow2$/, ''),
      path: file,
      format: top.format,
      virtualSizeBytes: top['virtual-size'],
      allocatedBytes: top['actual-size'] ?? 0,
      backingChain: chain.map(c => c.filename),
    };
  }

  async inspectImage(
    pool: PoolLocation,
    baseImage: string,
  ): Promise<ImageInfo> {
    const file = this.resolveSource(pool, baseImage);
    const [top] = await this.info(file);
    return {
      baseImage: file,
      format: top.format,
      virtualSizeBytes: top['virtual-size'],
      allocatedBytes: top['actual-size'] ?? 0,
    };
  }

  async create(request: CreateDiskRequest): Promise<DiskInfo> {
    const target = this.diskPath(request.pool, request.name);
    const size = request.sizeGiB;
    if (!Number.isInteger(size) || size < 1 || size > 65536) {
      throw new InputError(`Invalid disk size ${size} GiB`);
    }
    await fs.mkdir(path.dirname(target), { recursive: true });
    if (await exists(target)) {
      const meta = await this.readMeta(target);
      if (meta?.deploymentId === request.deploymentId) {
        return this.describe(target); // idempotent retry of the same request
      }
      throw new ConflictError(
        `Disk ${request.name} already exists in pool ${request.pool.name}`,
      );
    }
    let mode: DiskMeta['mode'] = 'blank';
    const tmp = `${target}.partial`;
    await fs.rm(tmp, { force: true });
    if (!request.source) {
      await runCommand([
        'qemu-img',
        'create',
        '-q',
        '-f',
        'qcow2',
        tmp,
        `${size}G`,
      ]);
    } else {
      const source = this.resolveSource(request.pool, request.source);
      const [sourceInfo] = await this.info(source);
      const bytes = Math.max(size * GiB, sourceInfo['virtual-size']);
      if (request.mode === 'linked') {
        mode = 'linked';
        await runCommand([
          'qemu-img',
          'create',
          '-q',
          '-f',
          'qcow2',
          '-b',
          source,
          '-F',
          sourceInfo.format,
          tmp,
          String(bytes),
        ]);
      } else {
        mode = 'full';
        await runCommand(
          ['qemu-img', 'convert', '-q', '-O', 'qcow2', source, tmp],
          { timeoutMs: 30 * 60_000 },
        );
        if (bytes > sourceInfo['virtual-size']) {
          await runCommand(['qemu-img', 'resize', '-q', tmp, String(bytes)]);
        }
      }
    }
    await this.writeMeta(target, {
      deploymentId: request.deploymentId,
      createdAt: new Date().toISOString(),
      source: request.source,
      mode,
    });
    await fs.rename(tmp, target);
    return this.describe(target);
  }

  /** Every qcow2 file in the pool folder. */
  async listFiles(pool: PoolLocation): Promise<string[]> {
    const dir = this.poolDir(pool);
    let entries: string[] = [];
    try {
      entries = await fs.readdir(dir);
    } catch {
      return [];
    }
    return entries
      .filter(f => f.endsWith('.qcow2') && f.startsWith('sm-'))
      .sort()
      .map(f => path.join(dir, f));
  }

  /** The disks of the pool that are backed (directly or further up) by `file`. */
  async dependents(pool: PoolLocation, file: string): Promise<string[]> {
    const result: string[] = [];
    for (const other of await this.listFiles(pool)) {
      if (other === file) continue;
      const [, ...chain] = await this.info(other);
      if (chain.some(c => c.filename === file)) result.push(other);
    }
    return result;
  }

  async delete(pool: PoolLocation, disk: string): Promise<void> {
    const file = this.diskPath(pool, disk);
    if (!(await exists(file))) {
      throw new NotFoundError(`No disk ${disk} in pool ${pool.name}`);
    }
    const dependents = await this.dependents(pool, file);
    if (dependents.length > 0) {
      throw new ConflictError(
        `Disk ${disk} is the base of ${dependents
          .map(d => path.basename(d, '.qcow2'))
          .join(', ')}`,
      );
    }
    await fs.rm(file, { force: true });
    await fs.rm(this.metaPath(file), { force: true });
  }

  async export(request: ExportDiskRequest): Promise<DiskExportInfo> {
    const source = this.diskPath(request.pool, request.disk);
    const target = checkPath('export target', request.targetPath);
    if (!(await exists(source))) {
      throw new NotFoundError(
        `No disk ${request.disk} in pool ${request.pool.name}`,
      );
    }
    const tmp = `${target}.partial`;
    await fs.mkdir(path.dirname(target), { recursive: true });
    const output =
      request.format === 'raw'
        ? ['-O', 'raw']
        : [
            '-O',
            'qcow2',
            ...(request.compression === 'zstd'
              ? ['-c', '-o', 'compression_type=zstd']
              : []),
          ];
    await runCommand(
      ['qemu-img', 'convert', '-q', '-U', ...output, source, tmp],
      { timeoutMs: 60 * 60_000 },
    );
    await fs.rename(tmp, target);
    return { targetPath: target, bytes: (await fs.stat(target)).size };
  }

  /**
   * Serves a disk read-only over NBD: `qemu-nbd` on the caller's socket, for one client (it
   * exits when that client disconnects), sharing the image with a running machine the way
   * `qemu-img -U` does. The ranges that may hold data come from `qemu-img map`.
   */
  async serve(request: ServeDiskRequest): Promise<DiskServer> {
    const source = this.diskPath(request.pool, request.disk);
    const socketPath = checkPath('socket', request.socketPath);
    if (!(await exists(source))) {
      throw new NotFoundError(
        `No disk ${request.disk} in pool ${request.pool.name}`,
      );
    }
    const chain = await this.info(source);
    const [top] = chain;
    const { stdout } = await runCommand(
      ['qemu-img', 'map', '--output=json', '-U', '-f', top.format, source],
      { timeoutMs: 10 * 60_000 },
    );
    const map = JSON.parse(stdout) as QemuImgMapEntry[];
    const dataRanges = dataRangesOf(map);
    const extents = extentsOf(
      map,
      chain.map(c => c.filename),
    );
    await fs.rm(socketPath, { force: true });
    // checkPath rules out commas, so the path needs no escaping in the option string.
    const child = spawn(
      'qemu-nbd',
      [
        '--read-only',
        `--socket=${socketPath}`,
        '--image-opts',
        `driver=${top.format},file.driver=file,file.filename=${source},read-only=on,force-share=on`,
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, LC_ALL: 'C' },
      },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      stderr = (stderr + text).slice(-4096);
    });
    const exited = new Promise<void>(resolve => {
      child.once('exit', () => resolve());
      child.once('error', error => {
        stderr ||= error.message;
        resolve();
      });
    });
    const running = () => child.exitCode === null && child.signalCode === null;
    const close = async () => {
      await stopChild(child);
      await exited;
      await fs.rm(socketPath, { force: true });
    };
    const deadline = Date.now() + 30_000;
    while (!(await exists(socketPath))) {
      if (!running() || Date.now() > deadline) {
        await close();
        throw new Error(
          `qemu-nbd did not serve ${source}: ${stderr.trim() || 'timed out'}`,
        );
      }
      await new Promise(resolve => setTimeout(resolve, 10));
    }
    return {
      socketPath,
      virtualSizeBytes: top['virtual-size'],
      dataRanges,
      extents,
      close,
    };
  }

  async import(request: ImportDiskRequest): Promise<DiskInfo> {
    const source = importSource(request);
    const target = this.diskPath(request.pool, request.name);
    if (await exists(target)) {
      throw new ConflictError(
        `Disk ${request.name} already exists in pool ${request.pool.name}`,
      );
    }
    const [info] = await this.info(source);
    if (info['full-backing-filename'] || info['backing-filename']) {
      throw new InputError(
        `Import source ${source} must be a standalone image`,
      );
    }
    const tmp = `${target}.partial`;
    await fs.mkdir(path.dirname(target), { recursive: true });
    await runCommand(
      [
        'qemu-img',
        'convert',
        '-q',
        '-f',
        info.format,
        '-O',
        'qcow2',
        source,
        tmp,
      ],
      { timeoutMs: 60 * 60_000 },
    );
    await this.writeMeta(target, {
      deploymentId: request.deploymentId,
      createdAt: new Date().toISOString(),
      source,
      mode: 'import',
    });
    await fs.rename(tmp, target);
    return this.describe(target);
  }

  async readMeta(file: string): Promise<DiskMeta | undefined> {
    try {
      return JSON.parse(await fs.readFile(this.metaPath(file), 'utf8'));
    } catch {
      return undefined;
    }
  }

  async writeMeta(file: string, meta: DiskMeta) {
    await fs.writeFile(
      this.metaPath(file),
      `${JSON.stringify(meta, null, 2)}\n`,
    );
  }

  async removeMeta(file: string) {
    await fs.rm(this.metaPath(file), { force: true });
  }
}

/** The file or NBD export an import reads: an absolute path, or `nbd+unix:///?socket=<abs path>`. */
function importSource(request: ImportDiskRequest): string {
  if (request.sourceUrl !== undefined) {
    const m = /^nbd\+unix:\/\/\/\?socket=(\/.+)$/.exec(request.sourceUrl);
    if (!m || request.sourcePath !== undefined) {
      throw new InputError(
        `Import source ${request.sourceUrl} must be nbd+unix:///?socket=<absolute path>, without a sourcePath`,
      );
    }
    checkPath('import socket', m[1]);
    return request.sourceUrl;
  }
  return checkPath('import source', request.sourcePath ?? '');
}

export async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}
