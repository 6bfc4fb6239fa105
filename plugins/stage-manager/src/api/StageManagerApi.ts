import { createApiRef } from '@backstage/frontend-plugin-api';
import {
  Deployment,
  DeploymentState,
  Page,
  StageManagerService,
  StageManagerServiceDetails,
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
}

/** @public */
export interface ListDeploymentsRequest extends PageRequest {
  /** Full entity ref of the service, e.g. `component:default/shop`. */
  serviceRef?: string;
  stage?: string;
  state?: DeploymentState;
}

/**
 * Client of the Stage Manager backend API.
 *
 * @public
 */
export interface StageManagerApi {
  /** Lists the catalog entities opted into Stage Manager, with their stages. */
  listServices(
    request?: ListServicesRequest,
  ): Promise<Page<StageManagerService>>;

  /** Gets a service with its stages and the deployments of each stage. */
  getService(entityRef: string): Promise<StageManagerServiceDetails>;

  /** Lists deployments, optionally filtered by service, stage and state. */
  listDeployments(request?: ListDeploymentsRequest): Promise<Page<Deployment>>;
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
