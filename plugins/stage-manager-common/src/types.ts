/**
 * Domain types shared by the frontend, the backend and the drivers. Dates are ISO 8601 strings.
 */

/** A page of results. @public */
export interface Page<T> {
  items: T[];
  totalCount: number;
}

/** How a template boots. @public */
export type BootSettings =
  | { type: 'disk' }
  | { type: 'kernel'; kernel: string; initrd?: string; cmdline?: string };

/** A disk of a template or machine. @public */
export interface DiskSpec {
  /** Name of the disk within the machine, e.g. `root` or `data`. */
  name: string;
  /** Virtual size in GiB. */
  sizeGiB: number;
  /** `base` is cloned from the template's base image; `blank` is created empty. */
  source: 'base' | 'blank';
}

/** A network interface of a template or machine. @public */
export interface NicSpec {
  name: string;
  /** `fence` attaches to the deployment's fenced network. */
  network: 'fence';
}

/**
 * A readiness check: an HTTP GET from inside the deployment's fence to the machine's address
 * must answer 2xx (and contain `contains`, when given). @public
 */
export interface ReadinessCheck {
  http: { port: number; path: string; contains?: string };
  /** How long to wait for it after start; default 180 s. */
  timeoutSeconds?: number;
}

/** A machine template shared across services. @public */
export interface Template {
  id: string;
  name: string;
  title?: string;
  description?: string;
  /** Id of the hypervisor driver that can run this template, e.g. `libvirt`. */
  driver: string;
  /** Driver-specific reference to the base disk image, e.g. a qcow2 path. */
  baseImage: string;
  vcpus: number;
  memoryMiB: number;
  disks: DiskSpec[];
  nics: NicSpec[];
  boot: BootSettings;
  /** How Stage Manager knows a machine of this template is up, beyond the driver's power state. */
  readiness?: ReadinessCheck;
  /** Incremented on every update. */
  revision: number;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
}

/** One machine of a configuration version. Unset sizes come from the template. @public */
export interface MachineSpec {
  /** Machine name, unique within the configuration; also its hostname. */
  name: string;
  /** Name of the template the machine is built from. */
  template: string;
  /** Tier label for n-tier configurations, e.g. `web`, `app`, `db`. */
  tier?: string;
  /** Machines start in ascending order (lower first); equal orders start together. */
  startOrder: number;
  vcpus?: number;
  memoryMiB?: number;
  disks?: DiskSpec[];
}

/** A named set of machines owned by a service. @public */
export interface Configuration {
  id: string;
  /** Entity ref of the owning service, e.g. `component:default/shop`. */
  serviceRef: string;
  name: string;
  description?: string;
  latestVersion: number;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
}

/** An immutable version of a configuration. @public */
export interface ConfigurationVersion {
  configurationId: string;
  version: number;
  machines: MachineSpec[];
  notes?: string;
  createdAt: string;
  createdBy: string;
}

/** A configuration together with its latest version. @public */
export interface ConfigurationWithVersion extends Configuration {
  current: ConfigurationVersion;
}

/** Capacity limits of a resource pool. @public */
export interface PoolCapacity {
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
}

/** A named place on a driver where deployments run. @public */
export interface Pool {
  name: string;
  title?: string;
  driver: string;
  /** Driver-specific location, e.g. `{ path: '/var/lib/stage-manager/pools/lab' }`. */
  location: Record<string, string>;
  capacity: PoolCapacity;
  /** Resources allocated to deployments recorded on this pool (not undeployed). */
  allocated: PoolCapacity;
  /** Whether the pool's driver is registered in this backend. */
  driverAvailable: boolean;
}

/** One stage of a service's workflow, resolved from app-config and annotations. @public */
export interface StageDefinition {
  name: string;
  pool: string;
  approvers: string[];
  requiredApprovals: number;
}

/** The lifecycle states of a deployment. @public */
export const DEPLOYMENT_STATES = [
  'pending',
  'provisioning',
  'running',
  'stopped',
  'undeploying',
  'undeployed',
  'failed',
] as const;

/** @public */
export type DeploymentState = (typeof DEPLOYMENT_STATES)[number];

/**
 * The role of a deployment in its stage: each stage has at most one `primary` (what the stage
 * runs), any number of `copy` deployments (clones for patch testing), and `retired` ones (replaced
 * by a swap, kept stopped until their storage lease ends so the swap can be rolled back).
 *
 * @public
 */
export const DEPLOYMENT_ROLES = ['primary', 'copy', 'retired'] as const;

/** @public */
export type DeploymentRole = (typeof DEPLOYMENT_ROLES)[number];

/** A machine of a deployment. @public */
export interface DeploymentMachine {
  name: string;
  template: string;
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
  /** Driver's handle of the machine once it exists. */
  driverRef?: string;
  state?: string;
}

/** A configuration version instantiated in one stage of one service. @public */
export interface Deployment {
  id: string;
  serviceRef: string;
  stage: string;
  configurationId: string;
  configurationVersion: number;
  pool: string;
  state: DeploymentState;
  role: DeploymentRole;
  /** Name of the deployment's fenced network, once created. */
  fence?: string;
  /** Deployment this one was cloned from, if any. */
  clonedFrom?: string;
  machines: DeploymentMachine[];
  leaseExpiresAt?: string;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
}

/** A stage of a service with its deployments. @public */
export interface ServiceStage extends StageDefinition {
  deployments: Deployment[];
}

/** A catalog entity opted into Stage Manager. @public */
export interface StageManagerService {
  entityRef: string;
  kind: string;
  namespace: string;
  name: string;
  title?: string;
  owner?: string;
  system?: string;
  /** Workflow name, or `custom` when the stages annotation lists stages explicitly. */
  workflow: string;
  stages: StageDefinition[];
  /** Problems with the entity's annotations; a service with problems has no stages. */
  problems: string[];
}

/** A service with its stages and deployments per stage. @public */
export interface StageManagerServiceDetails
  extends Omit<StageManagerService, 'stages'> {
  stages: ServiceStage[];
}

/** @public */
export const OPERATION_KINDS = [
  'deploy',
  'clone',
  'promote',
  'demote',
  'swap',
  'start',
  'stop',
  'undeploy',
  'archive',
  'restore',
  'move-archive',
  'verify-archive',
  'refresh',
] as const;

/** @public */
export type OperationKind = (typeof OPERATION_KINDS)[number];

/** @public */
export const OPERATION_STATES = [
  'queued',
  'awaiting-approval',
  'running',
  'succeeded',
  'failed',
  'rolling-back',
  'rolled-back',
] as const;

/** @public */
export type OperationState = (typeof OPERATION_STATES)[number];

/** @public */
export type OperationStepState =
  | 'pending'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'skipped';

/** A step of an operation. @public */
export interface OperationStep {
  name: string;
  /** What the step does, for people. */
  title?: string;
  state: OperationStepState;
  startedAt?: string;
  finishedAt?: string;
  /** Data the step recorded to resume or roll back (driver handles and the like). */
  data?: Record<string, unknown>;
  error?: string;
}

/** A durable record of a long-running action. @public */
export interface Operation {
  id: string;
  kind: OperationKind;
  serviceRef: string;
  /** Stage of the deployment the operation acts on. */
  stage?: string;
  /** The deployment the operation acts on (the source of a clone, promote, demote or swap). */
  deploymentId?: string;
  /** The deployment the operation creates (deploy, clone, promote, demote, swap across stages). */
  targetDeploymentId?: string;
  /** Stage the operation moves or copies into (deploy, clone, promote, demote, swap). */
  targetStage?: string;
  /** The approval request gating the operation, when its target stage requires approvals. */
  approvalRequestId?: string;
  /** Kind-specific parameters (target stage, clone mode, ...). */
  params: Record<string, unknown>;
  state: OperationState;
  steps: OperationStep[];
  requestedBy: string;
  error?: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  updatedAt: string;
}

/** One entry of the audit log. @public */
export interface AuditEvent {
  id: string;
  at: string;
  /** Entity ref of who did it (user or service principal). */
  actor: string;
  /** What was done, e.g. `template.create`. */
  action: string;
  targetKind: string;
  targetId: string;
  serviceRef?: string;
  before?: unknown;
  after?: unknown;
}

/** @public */
export const APPROVAL_STATES = [
  'pending',
  'approved',
  'rejected',
  'expired',
  'cancelled',
] as const;

/** @public */
export type ApprovalState = (typeof APPROVAL_STATES)[number];

/** An approval or rejection of an approval request. @public */
export interface ApprovalVote {
  actor: string;
  decision: 'approve' | 'reject';
  comment?: string;
  createdAt: string;
}

/** A request for approval before something moves into a stage. @public */
export interface ApprovalRequest {
  id: string;
  operationId: string;
  serviceRef: string;
  /** The stage the operation moves into. */
  stage: string;
  state: ApprovalState;
  requiredApprovals: number;
  /** Group or user refs whose members may approve. */
  approvers: string[];
  requestedBy: string;
  votes: ApprovalVote[];
  createdAt: string;
  expiresAt?: string;
  decidedAt?: string;
}

/** The lease of a deployment. Stages without lease policy give their deployments none. @public */
export interface Lease {
  deploymentId: string;
  /** When the machines are stopped. */
  runtimeExpiresAt?: string;
  /** When the deployment is undeployed. */
  storageExpiresAt?: string;
  /** No extension goes beyond this. */
  maxExpiresAt?: string;
  /** When the owner was warned of the next expiry. */
  warnedAt?: string;
  createdAt: string;
  updatedAt: string;
}

/** A deployment as the overview board shows it. @public */
export interface BoardDeployment {
  id: string;
  configurationId: string;
  configurationName?: string;
  configurationVersion: number;
  state: DeploymentState;
  role: DeploymentRole;
  machineCount: number;
  leaseExpiresAt?: string;
  /** The unfinished operation working on the deployment, if any. */
  activeOperation?: { id: string; kind: OperationKind; state: OperationState };
  /** Its latest drift scan against production (absent for production and before a scan). */
  drift?: { score?: number; scannedAt: string; drifted: DriftLayerName[] };
}

/** A stage of a service on the overview board. @public */
export interface BoardCell {
  stage: string;
  pool: string;
  requiredApprovals: number;
  /** What the stage runs. */
  primary?: BoardDeployment;
  /** Copies (clones for testing) running or stopped in the stage. */
  copies: BoardDeployment[];
  /** Deployments replaced by a swap, kept for rollback. */
  retired: number;
  /** Approval requests waiting for a decision into this stage. */
  pendingApprovals: number;
}

/** A service with one cell per stage of its workflow. @public */
export interface BoardRow {
  service: StageManagerService;
  cells: BoardCell[];
}

/** Resources of one service in one stage of a pool. @public */
export interface UsageEntry {
  serviceRef: string;
  stage: string;
  deployments: number;
  /** Recorded for its machines (vCPU, MiB, GiB of virtual disk). */
  allocated: PoolCapacity;
  /** Bytes its disks occupy in the pool, measured by the driver. */
  diskBytes?: number;
}

/** What a pool holds: capacity, allocation, the driver's measurement, and who uses it. @public */
export interface PoolUsage {
  pool: Pool;
  /** The driver's view (absent when the driver could not answer; see `error`). */
  measured?: { physical: PoolCapacity; used: PoolCapacity };
  error?: string;
  byService: UsageEntry[];
}

/** A disk of a pool with what it is backed by, for the storage tree. @public */
export interface StorageDisk {
  name: string;
  path: string;
  allocatedBytes: number;
  virtualSizeBytes: number;
  /** Path of the file this disk is backed by (its parent in the tree), if any. */
  backingPath?: string;
  deploymentId?: string;
  serviceRef?: string;
  stage?: string;
  deploymentState?: DeploymentState;
}

/** The disks of a pool and the images outside it that they are backed by. @public */
export interface PoolStorage {
  pool: string;
  disks: StorageDisk[];
  /** Backing files outside the pool (template base images). */
  bases: Array<{ path: string }>;
  totalAllocatedBytes: number;
}

/** @public */
export const ARCHIVE_STATES = [
  'creating',
  'available',
  'failed',
  'deleted',
] as const;

/**
 * `creating` until its archive operation commits (not listed unless asked for), `available` to
 * restore, `failed` when the operation was rolled back, `deleted` once deleted (kept as a
 * tombstone for the audit trail; its chunks are collected).
 *
 * @public
 */
export type ArchiveState = (typeof ARCHIVE_STATES)[number];

/** One disk of an archived machine. @public */
export interface ArchiveDisk {
  machine: string;
  /** The disk's name in the template (e.g. `root`). */
  disk: string;
  virtualSizeBytes: number;
  chunkSizeBytes: number;
  chunkCount: number;
  /** Chunks that are all zeros (not stored). */
  zeroChunks: number;
  /** Bytes of the disk that are not zero (what a full copy would have to keep). */
  dataBytes: number;
}

/**
 * A complete past state of a deployment: every machine's disks (chunked, deduplicated and
 * compressed in a storage tier), the configuration version and the deployment's settings.
 *
 * @public
 */
export interface Archive {
  id: string;
  serviceRef: string;
  /** Stage of the deployment when it was archived. */
  stage: string;
  sourceDeploymentId: string;
  configurationId: string;
  configurationVersion: number;
  state: ArchiveState;
  /** Storage tier holding the archive's chunks (e.g. `hot`, `cold`). */
  tier: string;
  description?: string;
  /** The deployment's machines (template and sizes) as they were archived. */
  machines: DeploymentMachine[];
  disks: ArchiveDisk[];
  /** Sum of the disks' virtual sizes. */
  logicalBytes: number;
  /** Sum of the disks' non-zero bytes. */
  dataBytes: number;
  /** Compressed bytes this archive added to its tier when it was made (chunks no other archive had). */
  addedBytes: number;
  /** The operation that made it. */
  operationId: string;
  createdBy: string;
  createdAt: string;
  completedAt?: string;
  /** Last restore (or creation). Tier policies move archives that nobody used for a while. */
  lastAccessedAt?: string;
  /** Last move between tiers. */
  movedAt?: string;
  deletedAt?: string;
  deletedBy?: string;
  /** Why a `failed` archive failed. */
  error?: string;
}

/** What one storage tier holds. @public */
export interface ArchiveTierUsage {
  tier: string;
  /** Where it stores (a folder for file tiers). */
  location: string;
  compressionLevel: number;
  /** Available archives in the tier. */
  archives: number;
  /** Distinct chunks stored. */
  chunks: number;
  /** Compressed bytes stored (what the tier costs). */
  storedBytes: number;
  /** Uncompressed bytes of those chunks. */
  rawBytes: number;
  /** Sum of the non-zero bytes of the tier's archives: what they would take without deduplication and compression. */
  archivedDataBytes: number;
}

/** The result of checking every chunk of an archive against its hash. @public */
export interface ArchiveVerification {
  archiveId: string;
  tier: string;
  checkedChunks: number;
  /** Damaged or missing chunks, each with where it is used. */
  damaged: Array<{
    hash: string;
    problem: 'missing' | 'corrupt';
    usedBy: Array<{ machine: string; disk: string; chunk: number }>;
  }>;
}

/** The layers of a drift report, in the order the portal shows them. @public */
export const DRIFT_LAYERS = [
  'configuration',
  'hypervisor',
  'disks',
  'divergence',
] as const;

/** @public */
export type DriftLayerName = (typeof DRIFT_LAYERS)[number];

/**
 * A layer's verdict: `match` (identical to production), `drift` (differences listed), or
 * `unknown` (could not be measured, with the reason in the summary; left out of the score).
 *
 * @public
 */
export type DriftVerdict = 'match' | 'drift' | 'unknown';

/** One difference of a layer. @public */
export interface DriftDifference {
  /** What differs, e.g. `machine web: memoryMiB` or `machine db: disk root`. */
  subject: string;
  /** Production's value (or record), when it has one. */
  production?: unknown;
  /** The copy's value (or the hypervisor's, for out-of-band drift). */
  copy?: unknown;
  /** What it means, for people. */
  note?: string;
}

/** How one disk of a copy matches its production counterpart. @public */
export interface DiskDrift {
  machine: string;
  disk: string;
  virtualSizeBytes: number;
  chunkSizeBytes: number;
  /** Chunks of the larger disk. */
  chunks: number;
  /**
   * Chunks read and hashed on each side; the others are equal without reading (zero in both, or
   * from the same place of a layer both share). Absent in older reports.
   */
  chunksRead?: number;
  differingChunks: number;
  /** Bytes in differing chunks over the disk's virtual size, 0..1. */
  fraction: number;
  /** The changed regions (runs of differing chunks), largest first, at most 20. */
  regions: Array<{ offset: number; length: number }>;
}

/** One layer of a drift report. @public */
export interface DriftLayer {
  layer: DriftLayerName;
  verdict: DriftVerdict;
  /** 0..100, 100 = identical to production; absent when `unknown`. */
  score?: number;
  summary: string;
  differences: DriftDifference[];
  /** The disks layer's per-disk results. */
  disks?: DiskDrift[];
}

/** A scan of one deployment against its service's production deployment. @public */
export interface DriftReport {
  id: string;
  deploymentId: string;
  serviceRef: string;
  stage: string;
  /** The production deployment compared against; absent when production runs nothing. */
  productionDeploymentId?: string;
  /** Weighted mean of the measured layers' scores (see docs/drift.md), 0..100. */
  score?: number;
  layers: DriftLayer[];
  trigger: 'schedule' | 'request';
  requestedBy?: string;
  scannedAt: string;
  durationMs: number;
}

/** One point of a deployment's drift history: when, the score, and each layer's score. @public */
export interface DriftPoint {
  scannedAt: string;
  score?: number;
  layers: Partial<Record<DriftLayerName, number>>;
}

/** A deployment's latest drift report, its score history and whether a scan runs. @public */
export interface DriftStatus {
  latest?: DriftReport;
  /** Newest first. */
  history: DriftPoint[];
  scanning: boolean;
}
