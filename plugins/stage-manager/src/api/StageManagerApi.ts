import { createApiRef } from '@backstage/frontend-plugin-api';
import {
  ApprovalRequest,
  ApprovalState,
  Archive,
  ArchiveInput,
  ArchiveMoveInput,
  ArchiveState,
  ArchiveTierUsage,
  AuditEvent,
  BoardRow,
  CloneInput,
  Configuration,
  ConfigurationInput,
  ConfigurationVersion,
  ConfigurationVersionInput,
  ConfigurationWithVersion,
  Deployment,
  DeploymentRole,
  DeploymentState,
  DeployInput,
  DriftReport,
  DriftStatus,
  Lease,
  Operation,
  OperationKind,
  OperationState,
  Page,
  Pool,
  PoolStorage,
  PoolUsage,
  RestoreInput,
  StageManagerService,
  StageManagerServiceDetails,
  SwapInput,
  Template,
  TemplateInput,
  TemplatePatch,
} from '@internal/plugin-stage-manager-common';

/**
 * Pagination of list requests. The backend accepts a `limit` of 1 to 500 and defaults to 50.
 *
 * @public
 */
export interface PageRequest {
  limit?: number;
  offset?: number;
}

/** @public */
export interface ListServicesRequest extends PageRequest {
  /** Case-insensitive text filter on the entity's name and title. */
  search?: string;
  /** Only services owned by this entity ref. */
  owner?: string;
  /** Only services of this system (name or ref). */
  system?: string;
}

/** @public */
export interface ListDeploymentsRequest extends PageRequest {
  /** Full entity ref of the service, e.g. `component:default/shop`. */
  serviceRef?: string;
  stage?: string;
  state?: DeploymentState;
  role?: DeploymentRole;
}

/** @public */
export interface ListOperationsRequest extends PageRequest {
  serviceRef?: string;
  deploymentId?: string;
  kind?: OperationKind;
  state?: OperationState;
}

/** @public */
export interface ListArchivesRequest extends PageRequest {
  serviceRef?: string;
  stage?: string;
  sourceDeploymentId?: string;
  tier?: string;
  /** Default: available archives. */
  state?: ArchiveState;
}

/** @public */
export interface ListApprovalsRequest extends PageRequest {
  serviceRef?: string;
  state?: ApprovalState;
}

/** @public */
export interface ListAuditEventsRequest extends PageRequest {
  serviceRef?: string;
  targetKind?: string;
  targetId?: string;
}

/** Where a machine's console is served and how to authenticate the websocket. @public */
export interface ConsoleConnection {
  /** `ws:` or `wss:` URL of the backend's console proxy for the machine. */
  url: string;
  /** Websocket subprotocols to offer: `binary` and, when signed in, the token. */
  protocols: string[];
}

/**
 * Client of the Stage Manager backend API.
 *
 * @public
 */
export interface StageManagerApi {
  // Services

  /** Lists the catalog entities opted into Stage Manager, with their stages. */
  listServices(
    request?: ListServicesRequest,
  ): Promise<Page<StageManagerService>>;
  /** Gets a service with its stages and the deployments of each stage. */
  getService(entityRef: string): Promise<StageManagerServiceDetails>;
  /** The overview board: services with one cell per stage. */
  getBoard(request?: ListServicesRequest): Promise<Page<BoardRow>>;

  // Deployments and the lifecycle (each request answers with the operation)

  listDeployments(request?: ListDeploymentsRequest): Promise<Page<Deployment>>;
  getDeployment(id: string): Promise<Deployment>;
  deploy(input: DeployInput): Promise<Operation>;
  clone(deploymentId: string, input?: CloneInput): Promise<Operation>;
  promote(
    deploymentId: string,
    input?: { comment?: string },
  ): Promise<Operation>;
  demote(
    deploymentId: string,
    input?: { comment?: string },
  ): Promise<Operation>;
  swap(deploymentId: string, input?: SwapInput): Promise<Operation>;
  start(deploymentId: string): Promise<Operation>;
  stop(deploymentId: string): Promise<Operation>;
  undeploy(deploymentId: string): Promise<Operation>;
  listOperations(request?: ListOperationsRequest): Promise<Page<Operation>>;
  getOperation(id: string): Promise<Operation>;

  /** Re-clones a copy in place from its service's production deployment. */
  refresh(deploymentId: string): Promise<Operation>;

  // Drift

  /** The latest drift report of a deployment against production, and its history. */
  getDrift(deploymentId: string): Promise<DriftStatus>;
  /** Scans a deployment against production now and answers the report. */
  scanDrift(deploymentId: string): Promise<DriftReport>;

  // Archives

  /** Archives a running or stopped deployment (answers with the archive operation). */
  archiveDeployment(
    deploymentId: string,
    input?: ArchiveInput,
  ): Promise<Operation>;
  listArchives(request?: ListArchivesRequest): Promise<Page<Archive>>;
  getArchive(id: string): Promise<Archive>;
  /** Restores an archive into a stage (`new`) or over its source deployment (`replace`). */
  restoreArchive(id: string, input: RestoreInput): Promise<Operation>;
  moveArchive(id: string, input: ArchiveMoveInput): Promise<Operation>;
  verifyArchive(id: string): Promise<Operation>;
  deleteArchive(id: string): Promise<Archive>;
  listArchiveTiers(): Promise<ArchiveTierUsage[]>;

  // Leases

  /** The deployment's lease; undefined when its stage gives none. */
  getLease(deploymentId: string): Promise<Lease | undefined>;
  extendLease(deploymentId: string, extendBy: string): Promise<Lease>;

  // Approvals

  listApprovals(request?: ListApprovalsRequest): Promise<Page<ApprovalRequest>>;
  approve(id: string, comment?: string): Promise<ApprovalRequest>;
  reject(id: string, comment?: string): Promise<ApprovalRequest>;
  cancelApproval(id: string, comment?: string): Promise<ApprovalRequest>;

  // Audit

  listAuditEvents(request?: ListAuditEventsRequest): Promise<Page<AuditEvent>>;

  // Templates and configurations

  listTemplates(request?: PageRequest): Promise<Page<Template>>;
  getTemplate(name: string): Promise<Template>;
  createTemplate(input: TemplateInput): Promise<Template>;
  updateTemplate(name: string, patch: TemplatePatch): Promise<Template>;
  deleteTemplate(name: string): Promise<void>;
  listConfigurations(
    request?: PageRequest & { serviceRef?: string },
  ): Promise<Page<Configuration>>;
  getConfiguration(id: string): Promise<ConfigurationWithVersion>;
  createConfiguration(
    input: ConfigurationInput,
  ): Promise<ConfigurationWithVersion>;
  updateConfiguration(
    id: string,
    patch: { description: string },
  ): Promise<Configuration>;
  deleteConfiguration(id: string): Promise<void>;
  listConfigurationVersions(
    id: string,
    request?: PageRequest,
  ): Promise<Page<ConfigurationVersion>>;
  getConfigurationVersion(
    id: string,
    version: number,
  ): Promise<ConfigurationVersion>;
  addConfigurationVersion(
    id: string,
    input: ConfigurationVersionInput,
  ): Promise<ConfigurationVersion>;

  // Pools

  listPools(request?: PageRequest): Promise<Page<Pool>>;
  /** Capacity, allocation and measured use of every pool, per service and stage. */
  getUsage(): Promise<PoolUsage[]>;
  /** The disks of a pool with their backing files (the linked-clone tree). */
  getPoolStorage(pool: string): Promise<PoolStorage>;

  // Consoles

  /** Where to open the console of a deployment's machine (noVNC over the backend proxy). */
  getConsoleConnection(
    deploymentId: string,
    machine: string,
  ): Promise<ConsoleConnection>;
}

/**
 * Reference to the {@link StageManagerApi}.
 *
 * @public
 */
export const stageManagerApiRef = createApiRef<StageManagerApi>().with({
  id: 'plugin.stage-manager.api',
  pluginId: 'stage-manager',
});
