import type {
  BootSettings,
  PoolCapacity,
} from '@internal/plugin-stage-manager-common';

/**
 * The contract between Stage Manager and a hypervisor. A driver is stateless towards Stage
 * Manager: everything it creates is named by the caller (validated names with the project
 * prefix) and tagged with the owning deployment id, so {@link HypervisorDriver.listInventory}
 * can always tell what exists and who owns it. Long-running work is driven step by step by the
 * backend's durable operations; every method here is idempotent where noted, so a resumed
 * operation can call it again.
 *
 * Errors: a missing object is a `NotFoundError`, an existing name a `ConflictError`
 * (`@backstage/errors`); anything else a plain `Error` whose message names the failing command.
 *
 * @public
 */
export interface HypervisorDriver {
  /** Unique id, used in pool and template definitions, e.g. `libvirt`. */
  readonly id: string;

  /** What this driver can do, so the backend and portal can offer only what works. */
  getCapabilities(): Promise<DriverCapabilities>;

  // Pools

  /** Capacity and current use of a pool, measured on the hypervisor. */
  getPoolStatus(pool: PoolLocation): Promise<PoolStatus>;

  // Templates

  /** Checks that a template's base image exists and reads its facts. */
  inspectImage(request: {
    pool: PoolLocation;
    baseImage: string;
  }): Promise<ImageInfo>;

  // Disks

  /**
   * Creates a machine disk in the pool: a linked clone (backed by `source`), a full
   * (independent) copy of `source`, or a blank disk when no source is given.
   */
  createDisk(request: CreateDiskRequest): Promise<DiskInfo>;
  /** Deletes a disk. Fails with a `ConflictError` while other disks are backed by it. */
  deleteDisk(request: { pool: PoolLocation; disk: string }): Promise<void>;
  /**
   * Exports a disk (with everything it is backed by) to a standalone file: a compressed image,
   * or a sparse raw image (what archives chunk and deduplicate).
   */
  exportDisk(request: ExportDiskRequest): Promise<DiskExportInfo>;
  /** Imports an exported image back into a pool as a new disk. */
  importDisk(request: ImportDiskRequest): Promise<DiskInfo>;
  /**
   * Serves a disk's raw bytes read-only over NBD on a unix socket, for one client, until that
   * client disconnects or the server is closed (drivers whose capabilities say `nbdExport`).
   * Archives read disks this way instead of exporting a raw copy first.
   */
  serveDisk?(request: ServeDiskRequest): Promise<DiskServer>;
  /**
   * Makes a machine's disks cloneable at this instant. The current content of each disk becomes
   * an immutable layer, and the machine goes on writing to a new overlay above it — live when the
   * machine is running (no restart), by redefinition when it is stopped. The layer keeps its owner
   * (the machine's deployment) and is deleted like any other disk once nothing is backed by it.
   * Idempotent per `tag`: calling again with the same tag returns the same layers without
   * freezing again (a resumed operation may repeat the call).
   * Returns, per disk of the machine (in machine order), the layer to pass as `source` to
   * createDisk in the same pool.
   */
  freezeMachineDisks(request: {
    name: string;
    pool: PoolLocation;
    /** Short caller-chosen tag ([a-z0-9]{1,12}) identifying this freeze, e.g. the operation id prefix. */
    tag: string;
  }): Promise<Array<{ disk: string; layer: string; path: string }>>;

  // Fenced networks

  /** Creates (idempotently) an isolated network for one deployment, with DHCP inside it. */
  createFence(request: CreateFenceRequest): Promise<FenceInfo>;
  /** Removes a fence and everything the driver created for it. Missing fences are fine. */
  destroyFence(request: { name: string }): Promise<void>;
  /**
   * Runs a program inside the fence's network namespace (argument array, never a shell),
   * e.g. to check that a guest answers. Only loopback and the fence are reachable from there.
   */
  execInFence(request: {
    fence: string;
    command: string[];
    timeoutMs?: number;
  }): Promise<{ stdout: string; stderr: string }>;

  // Machines

  /** Defines (does not start) a machine. Idempotent for the same name and deployment. */
  defineMachine(request: DefineMachineRequest): Promise<MachineInfo>;
  startMachine(request: { name: string }): Promise<void>;
  /** Graceful shutdown, forced off after `timeoutMs` (or at once with `force`). */
  stopMachine(request: {
    name: string;
    timeoutMs?: number;
    force?: boolean;
  }): Promise<void>;
  /** Removes a machine definition (stopping it first); its disks stay unless listed. */
  undefineMachine(request: {
    name: string;
    deleteDisks?: { pool: PoolLocation; disks: string[] };
  }): Promise<void>;
  getMachine(request: { name: string }): Promise<MachineInfo>;

  // Snapshots

  createSnapshot(request: {
    machine: string;
    name: string;
    description?: string;
  }): Promise<SnapshotInfo>;
  listSnapshots(request: { machine: string }): Promise<SnapshotInfo[]>;
  revertSnapshot(request: { machine: string; name: string }): Promise<void>;
  deleteSnapshot(request: { machine: string; name: string }): Promise<void>;

  // Consoles

  /** Where each console of a running machine can be reached, on loopback only. */
  getConsoleEndpoints(request: { name: string }): Promise<ConsoleEndpoint[]>;

  // Inventory

  /**
   * Everything this driver finds that carries the project's prefix, optionally narrowed to one
   * deployment: machines with their real settings and state, disks with backing chains and
   * allocation, fences. Used for drift, storage views and orphan cleanup.
   */
  listInventory(filter?: {
    deploymentId?: string;
    pool?: PoolLocation;
  }): Promise<Inventory>;
}

/** @public */
export interface DriverCapabilities {
  linkedClones: boolean;
  snapshots: boolean;
  consoles: Array<'vnc-websocket' | 'serial'>;
  diskExport: boolean;
  /** Imports read `nbd+unix://` URLs (`ImportDiskRequest.sourceUrl`). */
  nbdImport?: boolean;
  /** Serves disks over NBD (`serveDisk`). */
  nbdExport?: boolean;
  fences: boolean;
}

/** A pool as the driver sees it: its name and driver-specific location from app-config. @public */
export interface PoolLocation {
  name: string;
  location: Record<string, string>;
}

/** @public */
export interface PoolStatus {
  /** What the hypervisor reports as available (may exceed app-config's capacity limits). */
  physical: PoolCapacity;
  /** What machines and disks in the pool use right now. */
  used: PoolCapacity;
}

/** @public */
export interface ImageInfo {
  baseImage: string;
  format: string;
  virtualSizeBytes: number;
  allocatedBytes: number;
}

/** @public */
export interface CreateDiskRequest {
  pool: PoolLocation;
  /** Name of the new disk (validated; the driver derives its file or volume name). */
  name: string;
  sizeGiB: number;
  /** Base image or another disk of the pool to clone from. */
  source?: string;
  mode: 'linked' | 'full';
  /** Owning deployment id, recorded with the disk. */
  deploymentId: string;
}

/** @public */
export interface DiskInfo {
  name: string;
  /** Driver-specific locator (e.g. absolute path) passed back in machine definitions. */
  path: string;
  format: string;
  virtualSizeBytes: number;
  allocatedBytes: number;
  /** Locators of the backing chain, nearest first; empty for an independent disk. */
  backingChain: string[];
}

/** @public */
export interface ExportDiskRequest {
  pool: PoolLocation;
  disk: string;
  /** Absolute path of the file to write. */
  targetPath: string;
  /** `raw`: the disk's bytes (sparse where zero); `image` (default): the driver's own format. */
  format?: 'image' | 'raw';
  /** Compression of an `image` export. */
  compression: 'zstd' | 'none';
}

/** @public */
export interface ServeDiskRequest {
  pool: PoolLocation;
  disk: string;
  /** Absolute path of the unix socket to listen on (the caller's, removed by `close`). */
  socketPath: string;
}

/** A byte range of a disk. @public */
export interface DiskRange {
  offset: number;
  length: number;
}

/** A range of a disk and where its bytes come from. @public */
export interface DiskExtent extends DiskRange {
  /** Identity of the read-only layer holding the range (e.g. a backing file's path). */
  layer?: string;
  /** Where the range starts within that layer. */
  layerOffset?: number;
}

/** A running read-only NBD export of a disk. @public */
export interface DiskServer {
  socketPath: string;
  virtualSizeBytes: number;
  /** Where the disk may hold data, ascending; every byte outside these ranges reads as zero. */
  dataRanges: DiskRange[];
  /**
   * Where the data lives, when the driver knows: per range the immutable layer (e.g. a frozen
   * backing file) and the place in it. Two disks whose ranges come from the same place of the
   * same layer hold the same bytes there without reading them. Ranges in a disk's own writable
   * layer have no `layer`.
   */
  extents?: DiskExtent[];
  /** Stops the server (if its client has not already) and removes the socket. */
  close(): Promise<void>;
}

/** @public */
export interface DiskExportInfo {
  targetPath: string;
  bytes: number;
}

/** @public */
export interface ImportDiskRequest {
  pool: PoolLocation;
  /** An exported image, or a raw image of the disk's bytes. */
  sourcePath?: string;
  /**
   * Instead of a file: a read-only `nbd+unix:///?socket=/abs/path` export of the disk's raw
   * bytes (drivers whose capabilities say `nbdImport`).
   */
  sourceUrl?: string;
  name: string;
  deploymentId: string;
}

/** @public */
export interface CreateFenceRequest {
  /** Validated fence name with the project prefix. */
  name: string;
  deploymentId: string;
  /** IPv4 subnet of the fence in CIDR form; the same subnet may be used by many fences. */
  subnet: string;
}

/** @public */
export interface FenceInfo {
  name: string;
  subnet: string;
  /** Address of the host side inside the fence's namespace. */
  hostAddress: string;
  /** Static DHCP leases handed out inside the fence: MAC → IP. */
  leases: Array<{ mac: string; ip: string; hostname: string }>;
}

/** @public */
export interface DefineMachineRequest {
  name: string;
  deploymentId: string;
  /** Machine identity passed to the guest (hostname). */
  hostname: string;
  vcpus: number;
  memoryMiB: number;
  /** Disk locators from {@link HypervisorDriver.createDisk}, in boot order. */
  disks: Array<{ name: string; path: string }>;
  nics: Array<{
    name: string;
    fence: string;
    /** Keep this MAC (fenced clones keep their source's identity); generated when absent. */
    mac?: string;
    /** Keep this IPv4 address inside the fence (DHCP reservation); allocated when absent. */
    ip?: string;
  }>;
  boot: BootSettings;
  /** Extra, driver-neutral metadata stored with the machine. */
  labels?: Record<string, string>;
}

/** @public */
export type MachinePowerState =
  | 'running'
  | 'stopped'
  | 'paused'
  | 'crashed'
  | 'unknown';

/** @public */
export interface MachineInfo {
  name: string;
  deploymentId?: string;
  state: MachinePowerState;
  vcpus: number;
  memoryMiB: number;
  disks: Array<{ name: string; path: string }>;
  nics: Array<{ name: string; mac: string; fence?: string; ip?: string }>;
  labels: Record<string, string>;
}

/** @public */
export interface SnapshotInfo {
  name: string;
  machine: string;
  createdAt: string;
  description?: string;
}

/** @public */
export interface ConsoleEndpoint {
  kind: 'vnc-websocket' | 'serial';
  /** Loopback host and port; the backend proxies it, browsers never see it. */
  host: string;
  port: number;
  /** Path on that port (e.g. `/` for QEMU's websocket). */
  path: string;
}

/** @public */
export interface Inventory {
  machines: MachineInfo[];
  disks: Array<DiskInfo & { pool: string; deploymentId?: string }>;
  fences: Array<{ name: string; deploymentId?: string; active: boolean }>;
}
