import {
  AuthService,
  BackstageCredentials,
  DiscoveryService,
} from '@backstage/backend-plugin-api';
import {
  Archive,
  ArchiveInput,
  CloneInput,
  ConfigurationInput,
  ConfigurationWithVersion,
  Deployment,
  DeployInput,
  Lease,
  LeaseExtendInput,
  Operation,
  RestoreInput,
  Template,
} from '@internal/plugin-stage-manager-common';
import { StageManagerRequestError } from './StageManagerRequestError';

/** Body of `POST /deployments/:id/promote` and `/demote`. @public */
export interface MoveInput {
  comment?: string;
}

/** Options of every request: whose credentials it acts with. @public */
export interface StageManagerRequestOptions {
  /** The task initiator's credentials; the request carries a token on their behalf. */
  credentials: BackstageCredentials;
  signal?: AbortSignal;
}

/**
 * The few Stage Manager REST calls the scaffolder actions need. Every request carries a plugin
 * request token issued on behalf of the given credentials, so Stage Manager applies the task
 * initiator's permissions and approval rules, not the scaffolder's.
 *
 * @public
 */
export class StageManagerActionsClient {
  private readonly auth: AuthService;
  private readonly discovery: DiscoveryService;

  constructor(options: { auth: AuthService; discovery: DiscoveryService }) {
    this.auth = options.auth;
    this.discovery = options.discovery;
  }

  /** `POST /configurations` */
  async createConfiguration(
    input: ConfigurationInput,
    options: StageManagerRequestOptions,
  ): Promise<ConfigurationWithVersion> {
    return this.request('POST', '/configurations', options, input);
  }

  /** `GET /configurations/:id` */
  async getConfiguration(
    id: string,
    options: StageManagerRequestOptions,
  ): Promise<ConfigurationWithVersion> {
    return this.request('GET', `/configurations/${enc(id)}`, options);
  }

  /** `GET /templates/:name` */
  async getTemplate(
    name: string,
    options: StageManagerRequestOptions,
  ): Promise<Template> {
    return this.request('GET', `/templates/${enc(name)}`, options);
  }

  /** `GET /deployments/:id` */
  async getDeployment(
    id: string,
    options: StageManagerRequestOptions,
  ): Promise<Deployment> {
    return this.request('GET', `/deployments/${enc(id)}`, options);
  }

  /** `POST /deployments`: deploy a configuration version into a stage. */
  async deploy(
    input: DeployInput,
    options: StageManagerRequestOptions,
  ): Promise<Operation> {
    return this.request('POST', '/deployments', options, input);
  }

  /** `POST /deployments/:id/archive` */
  async archive(
    deploymentId: string,
    input: ArchiveInput,
    options: StageManagerRequestOptions,
  ): Promise<Operation> {
    return this.request(
      'POST',
      `/deployments/${enc(deploymentId)}/archive`,
      options,
      input,
    );
  }

  /** `GET /archives/:id` */
  async getArchive(
    id: string,
    options: StageManagerRequestOptions,
  ): Promise<Archive> {
    return this.request('GET', `/archives/${enc(id)}`, options);
  }

  /** `POST /archives/:id/restore` */
  async restore(
    archiveId: string,
    input: RestoreInput,
    options: StageManagerRequestOptions,
  ): Promise<Operation> {
    return this.request(
      'POST',
      `/archives/${enc(archiveId)}/restore`,
      options,
      input,
    );
  }

  /** `POST /deployments/:id/clone` */
  async clone(
    deploymentId: string,
    input: CloneInput,
    options: StageManagerRequestOptions,
  ): Promise<Operation> {
    return this.request(
      'POST',
      `/deployments/${enc(deploymentId)}/clone`,
      options,
      input,
    );
  }

  /** `POST /deployments/:id/refresh` */
  async refresh(
    deploymentId: string,
    options: StageManagerRequestOptions,
  ): Promise<Operation> {
    return this.request(
      'POST',
      `/deployments/${enc(deploymentId)}/refresh`,
      options,
      {},
    );
  }

  /** `POST /deployments/:id/promote` or `/demote` */
  async move(
    kind: 'promote' | 'demote',
    deploymentId: string,
    input: MoveInput,
    options: StageManagerRequestOptions,
  ): Promise<Operation> {
    return this.request(
      'POST',
      `/deployments/${enc(deploymentId)}/${kind}`,
      options,
      input,
    );
  }

  /** `GET /operations/:id` */
  async getOperation(
    id: string,
    options: StageManagerRequestOptions,
  ): Promise<Operation> {
    return this.request('GET', `/operations/${enc(id)}`, options);
  }

  /** `GET /deployments/:id/lease` */
  async getLease(
    deploymentId: string,
    options: StageManagerRequestOptions,
  ): Promise<Lease> {
    return this.request(
      'GET',
      `/deployments/${enc(deploymentId)}/lease`,
      options,
    );
  }

  /** `POST /deployments/:id/lease` */
  async extendLease(
    deploymentId: string,
    input: LeaseExtendInput,
    options: StageManagerRequestOptions,
  ): Promise<Lease> {
    return this.request(
      'POST',
      `/deployments/${enc(deploymentId)}/lease`,
      options,
      input,
    );
  }

  private async request<T>(
    method: 'GET' | 'POST',
    path: string,
    options: StageManagerRequestOptions,
    body?: unknown,
  ): Promise<T> {
    const baseUrl = await this.discovery.getBaseUrl('stage-manager');
    const { token } = await this.auth.getPluginRequestToken({
      onBehalfOf: options.credentials,
      targetPluginId: 'stage-manager',
    });
    const headers: Record<string, string> = {
      Accept: 'application/json',
      Authorization: `Bearer ${token}`,
    };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
    }
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: options.signal,
    });
    if (!response.ok) {
      throw await StageManagerRequestError.fromResponse(
        { method, path },
        response,
      );
    }
    return (await response.json()) as T;
  }
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}
