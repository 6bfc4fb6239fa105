import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { NotFoundError } from '@backstage/errors';
import {
  Deployment,
  DeploymentState,
  deploymentReadPermission,
  Operation,
  OperationKind,
  OperationState,
  Page,
  StageManagerServiceDetails,
} from '@internal/plugin-stage-manager-common';
import { DeploymentResource } from '@internal/plugin-stage-manager-node';
import { StageManagerStore } from '../database/StageManagerStore';
import { PageRequest } from '../database/util';
import { Authorizer } from './Authorizer';
import { ServiceDirectory } from './ServiceDirectory';

const PAGE = 500;

/** Reading deployments and operations (the lifecycle engine writes them). */
export class DeploymentService {
  constructor(
    private readonly deps: {
      store: StageManagerStore;
      authorizer: Authorizer<DeploymentResource>;
      services: ServiceDirectory;
    },
  ) {}

  async list(
    options: {
      page: PageRequest;
      serviceRef?: string;
      stage?: string;
      state?: DeploymentState;
    },
    credentials: BackstageCredentials,
  ): Promise<Page<Deployment>> {
    const criteria = await this.deps.authorizer.listCriteria(
      deploymentReadPermission,
      credentials,
    );
    return this.deps.store.deployments.list({ ...options, criteria });
  }

  async get(
    id: string,
    credentials: BackstageCredentials,
  ): Promise<Deployment> {
    const deployment = await this.deps.store.deployments.get(id);
    if (
      !deployment ||
      !(await this.deps.authorizer.allows(
        deploymentReadPermission,
        deployment,
        credentials,
      ))
    ) {
      throw new NotFoundError(`No deployment '${id}'`);
    }
    return deployment;
  }

  /** A service with its stages, and the deployments the caller may read in each stage. */
  async serviceDetails(
    ref: string,
    credentials: BackstageCredentials,
  ): Promise<StageManagerServiceDetails> {
    const service = await this.deps.services.get(ref, credentials);
    const criteria = await this.deps.authorizer.listCriteria(
      deploymentReadPermission,
      credentials,
    );
    const items: Deployment[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const page = await this.deps.store.deployments.list({
        serviceRef: service.entityRef,
        criteria,
        page: { limit: PAGE, offset },
      });
      items.push(...page.items.filter(d => d.state !== 'undeployed'));
      if (offset + PAGE >= page.totalCount) break;
    }
    return {
      ...service,
      stages: service.stages.map(stage => ({
        ...stage,
        deployments: items.filter(d => d.stage === stage.name),
      })),
    };
  }

  async listOperations(
    options: {
      page: PageRequest;
      serviceRef?: string;
      deploymentId?: string;
      kind?: OperationKind;
      state?: OperationState;
    },
    credentials: BackstageCredentials,
  ): Promise<Page<Operation>> {
    const criteria = await this.deps.authorizer.listCriteria(
      deploymentReadPermission,
      credentials,
    );
    return this.deps.store.operations.list({ ...options, criteria });
  }

  async getOperation(
    id: string,
    credentials: BackstageCredentials,
  ): Promise<Operation> {
    const operation = await this.deps.store.operations.get(id);
    // Visible to whoever may read the deployments of its source stage or of its target stage.
    let allowed = false;
    for (const stage of new Set([operation?.stage, operation?.targetStage])) {
      if (!operation || stage === undefined || allowed) continue;
      allowed = await this.deps.authorizer.allows(
        deploymentReadPermission,
        { serviceRef: operation.serviceRef, stage },
        credentials,
      );
    }
    if (!operation || !allowed) {
      throw new NotFoundError(`No operation '${id}'`);
    }
    return operation;
  }
}
