import { LoggerService } from '@backstage/backend-plugin-api';
import { ConflictError, InputError } from '@backstage/errors';
import {
  ConsoleEndpoint,
  CreateDiskRequest,
  CreateFenceRequest,
  DefineMachineRequest,
  DiskExportInfo,
  DiskInfo,
  DiskServer,
  DriverCapabilities,
  ExportDiskRequest,
  FenceInfo,
  HypervisorDriver,
  ImageInfo,
  ImportDiskRequest,
  Inventory,
  MachineInfo,
  PoolLocation,
  PoolStatus,
  ServeDiskRequest,
  SnapshotInfo,
} from '@internal/plugin-stage-manager-node';
import { randomBytes } from 'node:crypto';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DiskManager } from './disks/DiskManager';
import { freezeMachineDisks } from './disks/freezeMachineDisks';
import { runCommand } from './exec/runCommand';
import { FenceManager } from './fences/FenceManager';
import {
  checkName,
  checkPath,
  hasControlChars,
  HOSTNAME,
  MAC,
  SNAPSHOT_NAME,
} from './names';
import { buildDomainXml, parseDomainXml, toPowerState } from './xml/domainXml';
import { parseXml } from './xml/xml';

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/** Settings of the libvirt driver. */
export interface LibvirtDriverOptions {
  /** libvirt connection URI, e.g. `qemu:///system`. */
  uri: string;
  /** `qemu` (software emulation) or `kvm`. */
  domainType: 'qemu' | 'kvm';
  /** Absolute folder for serial logs, DHCP reservations and pid files. */
  runDir: string;
  /** Graceful shutdown timeout before forcing a machine off. */
  stopTimeoutMs: number;
  /** The pools served by this driver (for inventory across pools). */
  pools: PoolLocation[];
  logger: LoggerService;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/**
 * The libvirt + QEMU driver. Talks to libvirt through `virsh` and to disks through `qemu-img`,
 * always with argument arrays. Every object it creates is named `sm-…` and carries the owning
 * deployment id (domain and network metadata, disk sidecar files).
 */
export class LibvirtDriver implements HypervisorDriver {
  readonly id = 'libvirt';
  readonly #disks = new DiskManager();
  readonly #fences: FenceManager;

  constructor(private readonly options: LibvirtDriverOptions) {
    checkPath('runDir', options.runDir);
    this.#fences = new FenceManager({
      virsh: (args, timeoutMs) => this.virsh(args, timeoutMs),
      runDir: options.runDir,
      logger: options.logger,
    });
  }

  /** Runs `virsh -c <uri> …` and returns stdout. */
  async virsh(args: string[], timeoutMs = 60_000): Promise<string> {
    const { stdout } = await runCommand(
      ['virsh', '-q', '-c', this.options.uri, ...args],
      { timeoutMs },
    );
    return stdout;
  }

  async getCapabilities(): Promise<DriverCapabilities> {
    return {
      linkedClones: true,
      snapshots: true,
      consoles: ['vnc-websocket', 'serial'],
      diskExport: true,
      nbdImport: true,
      nbdExport: true,
      fences: true,
    };
  }

  // Pools

  async getPoolStatus(pool: PoolLocation): Promise<PoolStatus> {
    const dir = this.#disks.poolDir(pool);
    await fs.mkdir(dir, { recursive: true });
    const stat = await fs.statfs(dir);
    const files = await this.#disks.listFiles(pool);
    let allocated = 0;
    for (const file of files) allocated += (await fs.stat(file)).blocks * 512;
    const machines = (await this.listMachines()).filter(
      m =>
        m.state === 'running' &&
        m.disks.some(d => d.path.startsWith(`${dir}/`)),
    );
    return {
      physical: {
        vcpus: os.cpus().length,
        memoryMiB: Math.floor(os.totalmem() / MiB),
        diskGiB: Math.floor((stat.blocks * stat.bsize) / GiB),
      },
      used: {
        vcpus: machines.reduce((n, m) => n + m.vcpus, 0),
        memoryMiB: machines.reduce((n, m) => n + m.memoryMiB, 0),
        diskGiB: Math.round((allocated / GiB) * 100) / 100,
      },
    };
  }

  // Templates and disks

  inspectImage(request: {
    pool: PoolLocation;
    baseImage: string;
  }): Promise<ImageInfo> {
    return this.#disks.inspectImage(request.pool, request.baseImage);
  }

  createDisk(request: CreateDiskRequest): Promise<DiskInfo> {
    return this.#disks.create(request);
  }

  deleteDisk(request: { pool: PoolLocation; disk: string }): Promise<void> {
    return this.#disks.delete(request.pool, request.disk);
  }

  exportDisk(request: ExportDiskRequest): Promise<DiskExportInfo> {
    return this.#disks.export(request);
  }

  importDisk(request: ImportDiskRequest): Promise<DiskInfo> {
    return this.#disks.import(request);
  }

  serveDisk(request: ServeDiskRequest): Promise<DiskServer> {
    return this.#disks.serve(request);
  }

  freezeMachineDisks(request: {
    name: string;
    pool: PoolLocation;
    tag: string;
  }): Promise<Array<{ disk: string; layer: string; path: string }>> {
    return freezeMachineDisks(
      {
        virsh: (args, timeoutMs) => this.virsh(args, timeoutMs),
        disks: this.#disks,
        listMachines: () => this.listMachines(),
      },
      request,
    );
  }

  // Fences

  createFence(request: CreateFenceRequest): Promise<FenceInfo> {
    return this.#fences.create(request);
  }

  destroyFence(request: { name: string }): Promise<void> {
    return this.#fences.destroy(request.name);
  }

  async execInFence(request: {
    fence: string;
    command: string[];
    timeoutMs?: number;
  }): Promise<{ stdout: string; stderr: string }> {
    if (!Array.isArray(request.command) || request.command.length === 0) {
      throw new InputError('execInFence needs a command');
    }
    return this.#fences.exec(request.fence, request.command, request.timeoutMs);
  }

  // Machines

  serialLogPath(name: string): string {
    return path.join(
      this.options.runDir,
      'serial',
      `${checkName('machine name', name)}.log`,
    );
  }

  async defineMachine(request: DefineMachineRequest): Promise<MachineInfo> {
    const name = checkName('machine name', request.name);
    checkName('hostname', request.hostname, HOSTNAME);
    if (!/^[0-9a-f-]{1,64}$/i.test(request.deploymentId)) {
      throw new InputError(`Invalid deployment id '${request.deploymentId}'`);
    }
    for (const [key, value] of [
      ['vcpus', request.vcpus],
      ['memoryMiB', request.memoryMiB],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) {
        throw new InputError(`Invalid ${key} ${value}`);
      }
    }
    for (const [k, v] of Object.entries(request.labels ?? {})) {
      if (
        !/^[a-z][a-z0-9./-]{0,62}$/.test(k) ||
        typeof v !== 'string' ||
        v.length > 253
      ) {
        throw new InputError(`Invalid label ${k}`);
      }
    }
    const disks = request.disks.map(d => ({
      name: d.name,
      path: checkPath('disk path', d.path),
    }));
    if (request.boot.type === 'kernel') {
      checkPath('kernel', request.boot.kernel);
      if (request.boot.initrd) checkPath('initrd', request.boot.initrd);
      if (request.boot.cmdline && hasControlChars(request.boot.cmdline)) {
        throw new InputError('Invalid kernel command line');
      }
    }

    const existing = await this.findMachine(name);
    if (existing) {
      if (existing.deploymentId === request.deploymentId) return existing;
      throw new ConflictError(
        `Machine ${name} exists and belongs to deployment ${existing.deploymentId}`,
      );
    }

    // Generated MACs are unique among the project's machines; a given MAC is kept as is
    // (inside a fence a clone keeps its source's identity).
    const macsInUse = new Set(
      (await this.listMachines()).flatMap(m => m.nics.map(n => n.mac)),
    );
    const nics = [];
    for (const nic of request.nics) {
      checkName('fence name', nic.fence);
      let mac = nic.mac;
      while (!mac || (!nic.mac && macsInUse.has(mac))) mac = randomMac();
      macsInUse.add(mac);
      checkName('MAC address', mac, MAC);
      const reservation = await this.#fences.reserve({
        fence: nic.fence,
        mac,
        ip: nic.ip,
        hostname: request.hostname,
      });
      nics.push({
        name: nic.name,
        network: nic.fence,
        fence: nic.fence,
        mac,
        ip: reservation.ip,
      });
    }

    const serialLogPath = this.serialLogPath(name);
    await fs.mkdir(path.dirname(serialLogPath), { recursive: true });
    const xml = buildDomainXml({
      name,
      domainType: this.options.domainType,
      deploymentId: request.deploymentId,
      hostname: request.hostname,
      vcpus: request.vcpus,
      memoryMiB: request.memoryMiB,
      disks,
      nics,
      boot: request.boot,
      serialLogPath,
      labels: request.labels ?? {},
    });
    const xmlFile = path.join(this.options.runDir, `${name}.domain.xml`);
    await fs.writeFile(xmlFile, xml);
    try {
      await this.virsh(['define', xmlFile]);
    } finally {
      await fs.rm(xmlFile, { force: true });
    }
    return this.getMachine({ name });
  }

  async startMachine(request: { name: string }): Promise<void> {
    const machine = await this.getMachine(request);
    if (machine.state === 'running') return;
    await fs.rm(this.serialLogPath(machine.name), { force: true });
    await this.virsh(['start', machine.name]);
  }

  async stopMachine(request: {
    name: string;
    timeoutMs?: number;
    force?: boolean;
  }): Promise<void> {
    const machine = await this.getMachine(request);
    if (machine.state === 'stopped') return;
    if (!request.force) {
      await this.virsh(['shutdown', machine.name]).catch(() => undefined);
      const deadline =
        Date.now() + (request.timeoutMs ?? this.options.stopTimeoutMs);
      while (Date.now() < deadline) {
        if ((await this.domState(machine.name)) === 'stopped') return;
        await sleep(250);
      }
    }
    if ((await this.domState(machine.name)) !== 'stopped') {
      await this.virsh(['destroy', machine.name]).catch(async error => {
        if ((await this.domState(machine.name)) !== 'stopped') throw error;
      });
    }
  }

  async undefineMachine(request: {
    name: string;
    deleteDisks?: { pool: PoolLocation; disks: string[] };
  }): Promise<void> {
    const machine = await this.findMachine(
      checkName('machine name', request.name),
    );
    if (machine) {
      if (machine.state !== 'stopped') {
        await this.stopMachine({ name: machine.name, force: true });
      }
      await this.virsh(['undefine', machine.name, '--snapshots-metadata']);
      for (const nic of machine.nics) {
        if (nic.fence)
          await this.#fences.release(nic.fence, nic.mac).catch(() => undefined);
      }
      await fs.rm(this.serialLogPath(machine.name), { force: true });
    }
    for (const disk of request.deleteDisks?.disks ?? []) {
      await this.#disks.delete(request.deleteDisks!.pool, disk).catch(error => {
        if (error.name !== 'NotFoundError') throw error;
      });
    }
  }

  private async domState(name: string) {
    return toPowerState(await this.virsh(['domstate', name]));
  }

  private async findMachine(name: string): Promise<MachineInfo | undefined> {
    try {
      return await this.getMachine({ name });
    } catch (error) {
      if ((error as Error).name === 'NotFoundError') return undefined;
      throw error;
    }
  }

  async getMachine(request: { name: string }): Promise<MachineInfo> {
    const name = checkName('machine name', request.name);
    const state = await this.domState(name);
    const info = parseDomainXml(await this.virsh(['dumpxml', name]), state);
    const { consoles, hostname, ...machine } = info;
    return machine;
  }

  private async listMachines(): Promise<MachineInfo[]> {
    const names = (await this.virsh(['list', '--all', '--name']))
      .split('\n')
      .map(s => s.trim())
      .filter(s => s.startsWith('sm-'));
    const result: MachineInfo[] = [];
    for (const name of names) {
      const machine = await this.findMachine(name);
      if (machine) result.push(machine);
    }
    return result;
  }

  // Snapshots (internal qcow2 snapshots)

  async createSnapshot(request: {
    machine: string;
    name: string;
    description?: string;
  }): Promise<SnapshotInfo> {
    const machine = checkName('machine name', request.machine);
    const name = checkName('snapshot name', request.name, SNAPSHOT_NAME);
    const args = ['snapshot-create-as', machine, name];
    if (request.description) {
      if (
        hasControlChars(request.description) ||
        request.description.length > 500
      ) {
        throw new InputError('Invalid snapshot description');
      }
      args.push('--description', request.description);
    }
    await this.virsh(args);
    return (await this.listSnapshots({ machine })).find(s => s.name === name)!;
  }

  async listSnapshots(request: { machine: string }): Promise<SnapshotInfo[]> {
    const machine = checkName('machine name', request.machine);
    const names = (await this.virsh(['snapshot-list', machine, '--name']))
      .split('\n')
      .map(s => s.trim())
      .filter(Boolean);
    const result: SnapshotInfo[] = [];
    for (const name of names) {
      const snap = parseXml(
        await this.virsh(['snapshot-dumpxml', machine, name]),
      ).domainsnapshot?.[0];
      result.push({
        name,
        machine,
        createdAt: new Date(
          Number(snap?.creationTime ?? 0) * 1000,
        ).toISOString(),
        description: snap?.description ? String(snap.description) : undefined,
      });
    }
    return result;
  }

  async revertSnapshot(request: {
    machine: string;
    name: string;
  }): Promise<void> {
    await this.virsh(
      [
        'snapshot-revert',
        checkName('machine name', request.machine),
        checkName('snapshot name', request.name, SNAPSHOT_NAME),
      ],
      5 * 60_000,
    );
  }

  async deleteSnapshot(request: {
    machine: string;
    name: string;
  }): Promise<void> {
    await this.virsh([
      'snapshot-delete',
      checkName('machine name', request.machine),
      checkName('snapshot name', request.name, SNAPSHOT_NAME),
    ]);
  }

  // Consoles

  async getConsoleEndpoints(request: {
    name: string;
  }): Promise<ConsoleEndpoint[]> {
    const name = checkName('machine name', request.name);
    const state = await this.domState(name);
    if (state !== 'running') return [];
    const info = parseDomainXml(await this.virsh(['dumpxml', name]), state);
    return info.consoles
      .filter(c => c.host === '127.0.0.1')
      .map(c => ({ kind: c.kind, host: c.host, port: c.port, path: '/' }));
  }

  // Inventory

  async listInventory(filter?: {
    deploymentId?: string;
    pool?: PoolLocation;
  }): Promise<Inventory> {
    const wanted = (id?: string) =>
      !filter?.deploymentId || id === filter.deploymentId;
    const machines = (await this.listMachines()).filter(m =>
      wanted(m.deploymentId),
    );
    const pools = filter?.pool ? [filter.pool] : this.options.pools;
    const disks: Inventory['disks'] = [];
    for (const pool of pools) {
      for (const file of await this.#disks.listFiles(pool)) {
        const meta = await this.#disks.readMeta(file);
        if (!wanted(meta?.deploymentId)) continue;
        let info;
        try {
          info = await this.#disks.describe(file);
        } catch (error) {
          // Deleted while we listed: not part of the inventory any more.
          if (
            (error as Error).name === 'NotFoundError' &&
            !fsSync.existsSync(file)
          ) {
            continue;
          }
          throw error;
        }
        disks.push({
          ...info,
          pool: pool.name,
          deploymentId: meta?.deploymentId,
        });
      }
    }
    const fences = (await this.#fences.list()).filter(f =>
      wanted(f.deploymentId),
    );
    return { machines, disks, fences };
  }
}

function randomMac(): string {
  const b = randomBytes(3);
  return `52:54:00:${[...b]
    .map(x => x.toString(16).padStart(2, '0'))
    .join(':')}`;
}
