import { ConflictError, NotFoundError } from '@backstage/errors';
import {
  CreateDiskRequest,
  DefineMachineRequest,
  DiskExportInfo,
  DiskInfo,
  DiskServer,
  ExportDiskRequest,
  ImportDiskRequest,
  FenceInfo,
  HypervisorDriver,
  Inventory,
  MachineInfo,
  PoolLocation,
  ServeDiskRequest,
} from '@internal/plugin-stage-manager-node';
import { serveNbd } from '../archives/NbdExport';

import fs from 'node:fs';

/** Size of a fake disk's raw export. */
export const FAKE_DISK_BYTES = 3 * 64 * 1024 + 100;

interface FakeDisk {
  name: string;
  pool: string;
  path: string;
  deploymentId: string;
  /** Path of the disk this one is backed by. */
  backing?: string;
  /** Stand-in for content: what a guest would read from the disk. */
  content: string;
}

/** A fake disk's raw bytes: FAKE_DISK_BYTES, its content marker as the first line, zeros after. */
function rawBytes(disk: FakeDisk): Buffer {
  const data = Buffer.alloc(FAKE_DISK_BYTES);
  data.write(`${disk.content}\n`, 'utf8');
  return data;
}

interface FakeMachine extends MachineInfo {
  deploymentId: string;
}

/**
 * A FAKE, in-memory hypervisor driver for fast tests of the lifecycle engine's state machines.
 * It keeps machines, disks (with backing chains and a content marker), fences and DHCP
 * reservations like a real driver would, and lets a test inject failures or pauses per method.
 * Real behaviour is tested against libvirt in the libvirt module and the integration tests.
 */
export class FakeDriver implements HypervisorDriver {
  readonly id: string;
  readonly machines = new Map<string, FakeMachine>();
  readonly disks = new Map<string, FakeDisk>();
  readonly fences = new Map<string, FenceInfo & { deploymentId: string }>();
  /** Every call, in order, as `method name`. */
  readonly calls: string[] = [];
  /** Makes the next calls of a method fail (count times) with the error. */
  private readonly failures = new Map<
    string,
    { error: Error; count: number }
  >();
  /** Paused methods: calls wait until the test releases them. */
  private readonly gates = new Map<
    string,
    { wait: Promise<void>; reach: () => void }
  >();

  /** Whether the driver serves disks over NBD (`serveDisk`), like the libvirt driver. */
  private readonly nbdExport: boolean;

  constructor(id = 'fake', options: { nbdExport?: boolean } = {}) {
    this.id = id;
    this.nbdExport = options.nbdExport ?? false;
  }

  failNext(method: keyof HypervisorDriver, error: Error, count = 1) {
    this.failures.set(method, { error, count });
  }

  /** Holds calls of `method` until `release()`; `reached` resolves when a call waits there. */
  hold(method: keyof HypervisorDriver): {
    release: () => void;
    reached: Promise<void>;
  } {
    let release!: () => void;
    let reach!: () => void;
    const reached = new Promise<void>(r => (reach = r));
    const wait = new Promise<void>(r => (release = r));
    this.gates.set(method, { wait, reach });
    return {
      release: () => {
        this.gates.delete(method);
        release();
      },
      reached,
    };
  }

  private async enter(method: string, detail = '') {
    this.calls.push(detail ? `${method} ${detail}` : method);
    const gate = this.gates.get(method);
    if (gate) {
      gate.reach();
      await gate.wait;
    }
    const failure = this.failures.get(method);
    if (failure && failure.count > 0) {
      failure.count -= 1;
      throw failure.error;
    }
  }

  async getCapabilities() {
    return {
      linkedClones: true,
      snapshots: false,
      consoles: [] as Array<'vnc-websocket' | 'serial'>,
      diskExport: false,
      nbdExport: this.nbdExport,
      fences: true,
    };
  }

  async getPoolStatus() {
    return {
      physical: { vcpus: 64, memoryMiB: 65536, diskGiB: 1000 },
      used: { vcpus: 0, memoryMiB: 0, diskGiB: 0 },
    };
  }

  async inspectImage(request: { pool: PoolLocation; baseImage: string }) {
    return {
      baseImage: request.baseImage,
      format: 'qcow2',
      virtualSizeBytes: 1024 ** 3,
      allocatedBytes: 0,
    };
  }

  private key(pool: string, name: string) {
    return `${pool}/${name}`;
  }

  private describe(disk: FakeDisk): DiskInfo {
    const chain: string[] = [];
    for (let b = disk.backing; b; ) {
      chain.push(b);
      b = [...this.disks.values()].find(d => d.path === b)?.backing;
    }
    return {
      name: disk.name,
      path: disk.path,
      format: 'qcow2',
      virtualSizeBytes: 1024 ** 3,
      allocatedBytes: 0,
      backingChain: chain,
    };
  }

  async createDisk(request: CreateDiskRequest): Promise<DiskInfo> {
    await this.enter('createDisk', request.name);
    const key = this.key(request.pool.name, request.name);
    const existing = this.disks.get(key);
    if (existing) {
      if (existing.deploymentId === request.deploymentId) {
        return this.describe(existing);
      }
      throw new ConflictError(`Disk ${request.name} exists`);
    }
    const source = request.source
      ? [...this.disks.values()].find(
          d => d.path === request.source || d.name === request.source,
        )
      : undefined;
    const disk: FakeDisk = {
      name: request.name,
      pool: request.pool.name,
      path: `/fake/${request.pool.name}/${request.name}.qcow2`,
      deploymentId: request.deploymentId,
      backing:
        request.mode === 'linked' ? source?.path ?? request.source : undefined,
      content:
        source?.content ?? (request.source ? `base:${request.source}` : ''),
    };
    this.disks.set(key, disk);
    return this.describe(disk);
  }

  async deleteDisk(request: { pool: PoolLocation; disk: string }) {
    await this.enter('deleteDisk', request.disk);
    const key = this.key(request.pool.name, request.disk);
    const disk = this.disks.get(key);
    if (!disk) throw new NotFoundError(`No disk ${request.disk}`);
    const dependents = [...this.disks.values()].filter(
      d => d.backing === disk.path,
    );
    if (dependents.length) {
      throw new ConflictError(
        `Disk ${request.disk} is the base of ${dependents
          .map(d => d.name)
          .join(', ')}`,
      );
    }
    this.disks.delete(key);
  }

  /**
   * A raw export is a real file: FAKE_DISK_BYTES long, the content marker as its first line,
   * zeros after it (so the archive chunker has something real to read).
   */
  async exportDisk(request: ExportDiskRequest): Promise<DiskExportInfo> {
    await this.enter('exportDisk', request.disk);
    if (request.format !== 'raw') {
      throw new Error('FakeDriver only exports raw images');
    }
    const disk = this.disks.get(this.key(request.pool.name, request.disk));
    if (!disk) throw new NotFoundError(`No disk ${request.disk}`);
    const data = rawBytes(disk);
    fs.writeFileSync(request.targetPath, data);
    return { targetPath: request.targetPath, bytes: data.length };
  }

  /**
   * Serves a disk's raw bytes (as `exportDisk` writes them) over a real NBD socket, so readers
   * of served disks run their real client against it.
   */
  async serveDisk(request: ServeDiskRequest): Promise<DiskServer> {
    await this.enter('serveDisk', request.disk);
    const disk = this.disks.get(this.key(request.pool.name, request.disk));
    if (!disk) throw new NotFoundError(`No disk ${request.disk}`);
    const data = rawBytes(disk);
    const server = await serveNbd({
      socketPath: request.socketPath,
      sizeBytes: data.length,
      read: async (offset, length) => data.subarray(offset, offset + length),
    });
    return {
      socketPath: request.socketPath,
      virtualSizeBytes: data.length,
      dataRanges: [{ offset: 0, length: 64 * 1024 }],
      close: () => server.close(),
    };
  }

  /** Imports a raw file: its first line becomes the disk's content marker. */
  async importDisk(request: ImportDiskRequest): Promise<DiskInfo> {
    await this.enter('importDisk', request.name);
    const key = this.key(request.pool.name, request.name);
    if (this.disks.has(key)) {
      throw new ConflictError(`Disk ${request.name} exists`);
    }
    if (!request.sourcePath) throw new Error('FakeDriver imports files only');
    const data = fs.readFileSync(request.sourcePath);
    const disk: FakeDisk = {
      name: request.name,
      pool: request.pool.name,
      path: `/fake/${request.pool.name}/${request.name}.qcow2`,
      deploymentId: request.deploymentId,
      content: data.toString('utf8', 0, data.indexOf(0x0a)),
    };
    this.disks.set(key, disk);
    return this.describe(disk);
  }

  async freezeMachineDisks(request: {
    name: string;
    pool: PoolLocation;
    tag: string;
  }) {
    await this.enter('freezeMachineDisks', request.name);
    const machine = this.machines.get(request.name);
    if (!machine) throw new NotFoundError(`No machine ${request.name}`);
    const result = [];
    for (const d of machine.disks) {
      const current = [...this.disks.values()].find(x => x.path === d.path)!;
      const overlayName = `${current.name}-f${request.tag}`.slice(0, 49);
      if (current.name === overlayName) {
        const layer = [...this.disks.values()].find(
          x => x.path === current.backing,
        )!;
        result.push({ disk: d.name, layer: layer.name, path: layer.path });
        continue;
      }
      const overlay: FakeDisk = {
        name: overlayName,
        pool: current.pool,
        path: `/fake/${current.pool}/${overlayName}.qcow2`,
        deploymentId: current.deploymentId,
        backing: current.path,
        content: current.content,
      };
      this.disks.set(this.key(current.pool, overlayName), overlay);
      d.path = overlay.path;
      result.push({ disk: d.name, layer: current.name, path: current.path });
    }
    return result;
  }

  async createFence(request: {
    name: string;
    deploymentId: string;
    subnet: string;
  }): Promise<FenceInfo> {
    await this.enter('createFence', request.name);
    const existing = this.fences.get(request.name);
    if (existing && existing.deploymentId !== request.deploymentId) {
      throw new ConflictError(`Fence ${request.name} exists`);
    }
    const fence = existing ?? {
      name: request.name,
      subnet: request.subnet,
      hostAddress: '10.80.0.1',
      leases: [],
      deploymentId: request.deploymentId,
    };
    this.fences.set(request.name, fence);
    return fence;
  }

  async destroyFence(request: { name: string }) {
    await this.enter('destroyFence', request.name);
    this.fences.delete(request.name);
  }

  async execInFence(request: { fence: string; command: string[] }) {
    await this.enter('execInFence', request.command.join(' '));
    if (!this.fences.has(request.fence)) {
      throw new NotFoundError(`No fence ${request.fence}`);
    }
    const url = request.command[request.command.length - 1];
    const machine = [...this.machines.values()].find(
      m =>
        m.state === 'running' &&
        m.nics.some(
          n => n.fence === request.fence && url.includes(`//${n.ip}:`),
        ),
    );
    if (!machine) throw new Error(`curl: (7) Failed to connect to ${url}`);
    const disk = [...this.disks.values()].find(
      d => d.path === machine.disks[0]?.path,
    );
    return {
      stdout: `hello from ${
        machine.labels['stage-manager.io/machine']
      } marker=${disk?.content ?? ''}`,
      stderr: '',
    };
  }

  async defineMachine(request: DefineMachineRequest): Promise<MachineInfo> {
    await this.enter('defineMachine', request.name);
    const existing = this.machines.get(request.name);
    if (existing) {
      if (existing.deploymentId === request.deploymentId) return existing;
      throw new ConflictError(`Machine ${request.name} exists`);
    }
    const fence = this.fences.get(request.nics[0]?.fence ?? '');
    const machine: FakeMachine = {
      name: request.name,
      deploymentId: request.deploymentId,
      state: 'stopped',
      vcpus: request.vcpus,
      memoryMiB: request.memoryMiB,
      disks: request.disks.map(d => ({ ...d })),
      nics: request.nics.map((n, i) => {
        const ip = n.ip ?? `10.80.0.${10 + (fence?.leases.length ?? 0) + i}`;
        const mac =
          n.mac ?? `52:54:00:00:00:${(this.machines.size + 16).toString(16)}`;
        fence?.leases.push({ mac, ip, hostname: request.hostname });
        return { name: n.name, mac, fence: n.fence, ip };
      }),
      labels: request.labels ?? {},
    };
    this.machines.set(request.name, machine);
    return machine;
  }

  private machine(name: string): FakeMachine {
    const machine = this.machines.get(name);
    if (!machine) throw new NotFoundError(`No machine ${name}`);
    return machine;
  }

  async startMachine(request: { name: string }) {
    await this.enter('startMachine', request.name);
    this.machine(request.name).state = 'running';
  }

  async stopMachine(request: { name: string }) {
    await this.enter('stopMachine', request.name);
    this.machine(request.name).state = 'stopped';
  }

  async undefineMachine(request: { name: string }) {
    await this.enter('undefineMachine', request.name);
    this.machines.delete(request.name);
  }

  async getMachine(request: { name: string }): Promise<MachineInfo> {
    await this.enter('getMachine', request.name);
    const { ...machine } = this.machine(request.name);
    return machine;
  }

  async createSnapshot(): Promise<never> {
    throw new Error('FakeDriver has no snapshots');
  }
  async listSnapshots(): Promise<never> {
    throw new Error('FakeDriver has no snapshots');
  }
  async revertSnapshot(): Promise<never> {
    throw new Error('FakeDriver has no snapshots');
  }
  async deleteSnapshot(): Promise<never> {
    throw new Error('FakeDriver has no snapshots');
  }

  async getConsoleEndpoints() {
    return [];
  }

  async listInventory(filter?: {
    deploymentId?: string;
    pool?: PoolLocation;
  }): Promise<Inventory> {
    const wanted = (id?: string) =>
      !filter?.deploymentId || id === filter.deploymentId;
    return {
      machines: [...this.machines.values()].filter(m => wanted(m.deploymentId)),
      disks: [...this.disks.values()]
        .filter(d => wanted(d.deploymentId))
        .filter(d => !filter?.pool || d.pool === filter.pool.name)
        .map(d => ({
          ...this.describe(d),
          pool: d.pool,
          deploymentId: d.deploymentId,
        })),
      fences: [...this.fences.values()]
        .filter(f => wanted(f.deploymentId))
        .map(f => ({
          name: f.name,
          deploymentId: f.deploymentId,
          active: true,
        })),
    };
  }

  /** Everything the fake holds, for "nothing orphaned" assertions. */
  objects() {
    return {
      machines: [...this.machines.keys()].sort(),
      disks: [...this.disks.values()].map(d => d.name).sort(),
      fences: [...this.fences.keys()].sort(),
    };
  }
}
