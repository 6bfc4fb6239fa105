import { parseEntityRef } from '@backstage/catalog-model';
import { ResponseError } from '@backstage/errors';
import {
  DiscoveryApi,
  FetchApi,
  IdentityApi,
} from '@backstage/frontend-plugin-api';
import {
  ApprovalRequest,
  Archive,
  ArchiveInput,
  ArchiveMoveInput,
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
  DeployInput,
  DriftReport,
  DriftStatus,
  Lease,
  Operation,
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
import {
  ConsoleConnection,
  ListApprovalsRequest,
  ListArchivesRequest,
  ListAuditEventsRequest,
  ListDeploymentsRequest,
  ListOperationsRequest,
  ListServicesRequest,
  PageRequest,
  StageManagerApi,
} from './StageManagerApi';

type QueryValue = string | number | undefined;

const id = (value: string) => encodeURIComponent(value);

/**
 * Default implementation of the {@link StageManagerApi}, talking to the `stage-manager` backend
 * plugin over HTTP. Errors are `ResponseError`s carrying the backend's message.
 *
 * @public
 */
export class StageManagerClient implements StageManagerApi {
  private readonly discoveryApi: DiscoveryApi;
  private readonly fetchApi: FetchApi;
  private readonly identityApi?: IdentityApi;

  constructor(options: {
    discoveryApi: DiscoveryApi;
    fetchApi: FetchApi;
    /** Needed for consoles: the websocket carries the token as a subprotocol. */
    identityApi?: IdentityApi;
  }) {
    this.discoveryApi = options.discoveryApi;
    this.fetchApi = options.fetchApi;
    this.identityApi = options.identityApi;
  }

  // Services

  async listServices(
    request: ListServicesRequest = {},
  ): Promise<Page<StageManagerService>> {
    return this.get('/services', this.serviceQuery(request));
  }

  async getService(entityRef: string): Promise<StageManagerServiceDetails> {
    const { kind, namespace, name } = parseEntityRef(entityRef);
    const path = [kind, namespace, name].map(id).join('/');
    return this.get(`/services/${path}`);
  }

  async getBoard(request: ListServicesRequest = {}): Promise<Page<BoardRow>> {
    return this.get('/board', this.serviceQuery(request));
  }

  private serviceQuery(request: ListServicesRequest) {
    const { search, owner, system, limit, offset } = request;
    return {
      search: search?.trim() || undefined,
      owner: owner || undefined,
      system: system || undefined,
      limit,
      offset,
    };
  }

  // Deployments and the lifecycle

  async listDeployments(
    request: ListDeploymentsRequest = {},
  ): Promise<Page<Deployment>> {
    const { serviceRef, stage, state, role, limit, offset } = request;
    return this.get('/deployments', {
      serviceRef,
      stage,
      state,
      role,
      limit,
      offset,
    });
  }

  async getDeployment(deploymentId: string): Promise<Deployment> {
    return this.get(`/deployments/${id(deploymentId)}`);
  }

  deploy(input: DeployInput): Promise<Operation> {
    return this.send('POST', '/deployments', input);
  }

  clone(deploymentId: string, input: CloneInput = {}): Promise<Operation> {
    return this.send('POST', `/deployments/${id(deploymentId)}/clone`, input);
  }

  promote(deploymentId: string, input: { comment?: string } = {}) {
    return this.send<Operation>(
      'POST',
      `/deployments/${id(deploymentId)}/promote`,
      input,
    );
  }

  demote(deploymentId: string, input: { comment?: string } = {}) {
    return this.send<Operation>(
      'POST',
      `/deployments/${id(deploymentId)}/demote`,
      input,
    );
  }

  swap(deploymentId: string, input: SwapInput = {}): Promise<Operation> {
    return this.send('POST', `/deployments/${id(deploymentId)}/swap`, input);
  }

  refresh(deploymentId: string): Promise<Operation> {
    return this.send('POST', `/deployments/${id(deploymentId)}/refresh`, {});
  }

  async getDrift(deploymentId: string): Promise<DriftStatus> {
    return this.get(`/deployments/${id(deploymentId)}/drift`);
  }

  scanDrift(deploymentId: string): Promise<DriftReport> {
    return this.send(
      'POST',
      `/deployments/${id(deploymentId)}/drift/scans`,
      {},
    );
  }

  start(deploymentId: string): Promise<Operation> {
    return this.send('POST', `/deployments/${id(deploymentId)}/start`, {});
  }

  stop(deploymentId: string): Promise<Operation> {
    return this.send('POST', `/deployments/${id(deploymentId)}/stop`, {});
  }

  undeploy(deploymentId: string): Promise<Operation> {
    return this.send('DELETE', `/deployments/${id(deploymentId)}`);
  }

  async listOperations(
    request: ListOperationsRequest = {},
  ): Promise<Page<Operation>> {
    return this.get('/operations', { ...request });
  }

  async getOperation(operationId: string): Promise<Operation> {
    return this.get(`/operations/${id(operationId)}`);
  }

  // Archives

  archiveDeployment(
    deploymentId: string,
    input: ArchiveInput = {},
  ): Promise<Operation> {
    return this.send('POST', `/deployments/${id(deploymentId)}/archive`, input);
  }

  async listArchives(
    request: ListArchivesRequest = {},
  ): Promise<Page<Archive>> {
    const {
      serviceRef,
      stage,
      sourceDeploymentId,
      tier,
      state,
      limit,
      offset,
    } = request;
    return this.get('/archives', {
      serviceRef,
      stage,
      sourceDeploymentId,
      tier,
      state,
      limit,
      offset,
    });
  }

  async getArchive(archiveId: string): Promise<Archive> {
    return this.get(`/archives/${id(archiveId)}`);
  }

  restoreArchive(archiveId: string, input: RestoreInput): Promise<Operation> {
    return this.send('POST', `/archives/${id(archiveId)}/restore`, input);
  }

  moveArchive(archiveId: string, input: ArchiveMoveInput): Promise<Operation> {
    return this.send('POST', `/archives/${id(archiveId)}/move`, input);
  }

  verifyArchive(archiveId: string): Promise<Operation> {
    return this.send('POST', `/archives/${id(archiveId)}/verify`, {});
  }

  deleteArchive(archiveId: string): Promise<Archive> {
    return this.send('DELETE', `/archives/${id(archiveId)}`);
  }

  async listArchiveTiers(): Promise<ArchiveTierUsage[]> {
    const { items } = await this.get<{ items: ArchiveTierUsage[] }>(
      '/archive-tiers',
    );
    return items;
  }

  // Leases

  async getLease(deploymentId: string): Promise<Lease | undefined> {
    try {
      return await this.get<Lease>(`/deployments/${id(deploymentId)}/lease`);
    } catch (error) {
      if ((error as ResponseError).response?.status === 404) return undefined;
      throw error;
    }
  }

  extendLease(deploymentId: string, extendBy: string): Promise<Lease> {
    return this.send('POST', `/deployments/${id(deploymentId)}/lease`, {
      extendBy,
    });
  }

  // Approvals

  async listApprovals(
    request: ListApprovalsRequest = {},
  ): Promise<Page<ApprovalRequest>> {
    return this.get('/approvals', { ...request });
  }

  approve(approvalId: string, comment?: string): Promise<ApprovalRequest> {
    return this.send('POST', `/approvals/${id(approvalId)}/approve`, {
      comment,
    });
  }

  reject(approvalId: string, comment?: string): Promise<ApprovalRequest> {
    return this.send('POST', `/approvals/${id(approvalId)}/reject`, {
      comment,
    });
  }

  cancelApproval(
    approvalId: string,
    comment?: string,
  ): Promise<ApprovalRequest> {
    return this.send('POST', `/approvals/${id(approvalId)}/cancel`, {
      comment,
    });
  }

  // Audit

  async listAuditEvents(
    request: ListAuditEventsRequest = {},
  ): Promise<Page<AuditEvent>> {
    return this.get('/audit-events', { ...request });
  }

  // Templates and configurations

  async listTemplates(request: PageRequest = {}): Promise<Page<Template>> {
    return this.get('/templates', { ...request });
  }

  async getTemplate(name: string): Promise<Template> {
    return this.get(`/templates/${id(name)}`);
  }

  createTemplate(input: TemplateInput): Promise<Template> {
    return this.send('POST', '/templates', input);
  }

  updateTemplate(name: string, patch: TemplatePatch): Promise<Template> {
    return this.send('PATCH', `/templates/${id(name)}`, patch);
  }

  async deleteTemplate(name: string): Promise<void> {
    await this.send('DELETE', `/templates/${id(name)}`);
  }

  async listConfigurations(
    request: PageRequest & { serviceRef?: string } = {},
  ): Promise<Page<Configuration>> {
    return this.get('/configurations', { ...request });
  }

  async getConfiguration(
    configurationId: string,
  ): Promise<ConfigurationWithVersion> {
    return this.get(`/configurations/${id(configurationId)}`);
  }

  createConfiguration(
    input: ConfigurationInput,
  ): Promise<ConfigurationWithVersion> {
    return this.send('POST', '/configurations', input);
  }

  updateConfiguration(
    configurationId: string,
    patch: { description: string },
  ): Promise<Configuration> {
    return this.send('PATCH', `/configurations/${id(configurationId)}`, patch);
  }

  async deleteConfiguration(configurationId: string): Promise<void> {
    await this.send('DELETE', `/configurations/${id(configurationId)}`);
  }

  async listConfigurationVersions(
    configurationId: string,
    request: PageRequest = {},
  ): Promise<Page<ConfigurationVersion>> {
    return this.get(`/configurations/${id(configurationId)}/versions`, {
      ...request,
    });
  }

  async getConfigurationVersion(
    configurationId: string,
    version: number,
  ): Promise<ConfigurationVersion> {
    return this.get(
      `/configurations/${id(configurationId)}/versions/${version}`,
    );
  }

  addConfigurationVersion(
    configurationId: string,
    input: ConfigurationVersionInput,
  ): Promise<ConfigurationVersion> {
    return this.send(
      'POST',
      `/configurations/${id(configurationId)}/versions`,
      input,
    );
  }

  // Pools

  async listPools(request: PageRequest = {}): Promise<Page<Pool>> {
    return this.get('/pools', { ...request });
  }

  async getUsage(): Promise<PoolUsage[]> {
    return (await this.get<Page<PoolUsage>>('/usage')).items;
  }

  async getPoolStorage(pool: string): Promise<PoolStorage> {
    return this.get(`/pools/${id(pool)}/storage`);
  }

  // Consoles

  async getConsoleConnection(
    deploymentId: string,
    machine: string,
  ): Promise<ConsoleConnection> {
    const baseUrl = await this.discoveryApi.getBaseUrl('stage-manager');
    const url = `${baseUrl.replace(/^http/, 'ws')}/deployments/${id(
      deploymentId,
    )}/machines/${id(machine)}/console`;
    const { token } = (await this.identityApi?.getCredentials()) ?? {};
    return { url, protocols: token ? ['binary', token] : ['binary'] };
  }

  // HTTP

  private async get<T>(
    path: string,
    query: Record<string, QueryValue> = {},
  ): Promise<T> {
    const baseUrl = await this.discoveryApi.getBaseUrl('stage-manager');
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== '') {
        params.set(key, String(value));
      }
    }
    const queryString = params.toString();
    const url = `${baseUrl}${path}${queryString ? `?${queryString}` : ''}`;

    const response = await this.fetchApi.fetch(url, {
      headers: { Accept: 'application/json' },
    });
    if (!response.ok) {
      throw await ResponseError.fromResponse(response);
    }
    return (await response.json()) as T;
  }

  private async send<T>(
    method: 'POST' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<T> {
    const baseUrl = await this.discoveryApi.getBaseUrl('stage-manager');
    const response = await this.fetchApi.fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        Accept: 'application/json',
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) {
      throw await ResponseError.fromResponse(response);
    }
    return (response.status === 204 ? undefined : await response.json()) as T;
  }
}
