import { parseEntityRef } from '@backstage/catalog-model';
import { ResponseError } from '@backstage/errors';
import { DiscoveryApi, FetchApi } from '@backstage/frontend-plugin-api';
import {
  Deployment,
  Page,
  StageManagerService,
  StageManagerServiceDetails,
} from '@internal/plugin-stage-manager-common';
import {
  ListDeploymentsRequest,
  ListServicesRequest,
  StageManagerApi,
} from './StageManagerApi';

type QueryValue = string | number | undefined;

/**
 * Default implementation of the {@link StageManagerApi}, talking to the `stage-manager` backend
 * plugin over HTTP.
 *
 * @public
 */
export class StageManagerClient implements StageManagerApi {
  private readonly discoveryApi: DiscoveryApi;
  private readonly fetchApi: FetchApi;

  constructor(options: { discoveryApi: DiscoveryApi; fetchApi: FetchApi }) {
    this.discoveryApi = options.discoveryApi;
    this.fetchApi = options.fetchApi;
  }

  async listServices(
    request: ListServicesRequest = {},
  ): Promise<Page<StageManagerService>> {
    const { search, limit, offset } = request;
    return this.get<Page<StageManagerService>>('/services', {
      search: search?.trim() || undefined,
      limit,
      offset,
    });
  }

  async getService(entityRef: string): Promise<StageManagerServiceDetails> {
    const { kind, namespace, name } = parseEntityRef(entityRef);
    const path = [kind, namespace, name].map(encodeURIComponent).join('/');
    return this.get<StageManagerServiceDetails>(`/services/${path}`);
  }

  async listDeployments(
    request: ListDeploymentsRequest = {},
  ): Promise<Page<Deployment>> {
    const { serviceRef, stage, state, limit, offset } = request;
    return this.get<Page<Deployment>>('/deployments', {
      serviceRef,
      stage,
      state,
      limit,
      offset,
    });
  }

  private async get<T>(
    path: string,
    query: Record<string, QueryValue> = {},
  ): Promise<T> {
    const baseUrl = await this.discoveryApi.getBaseUrl('stage-manager');
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) {
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
}
