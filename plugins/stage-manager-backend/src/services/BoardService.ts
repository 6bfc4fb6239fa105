import { BackstageCredentials } from '@backstage/backend-plugin-api';
import {
  BoardDeployment,
  DriftReport,
  BoardRow,
  Deployment,
  deploymentReadPermission,
  Page,
} from '@internal/plugin-stage-manager-common';
import { DeploymentResource } from '@internal/plugin-stage-manager-node';
import { StageManagerStore } from '../database/StageManagerStore';
import { PageRequest } from '../database/util';
import { Authorizer } from './Authorizer';
import { ServiceDirectory } from './ServiceDirectory';

const BATCH = 500;

/**
 * The overview board: a page of services, each with one cell per stage holding its primary
 * deployment, copies, retired count and pending approvals. A constant number of queries per page
 * (catalog page, deployments of the page's services, configuration names, approval counts,
 * unfinished operations), so a board of thousands of services pages as fast as one of ten.
 */
/** What the board shows of a deployment's latest drift report. */
function driftOf(report: DriftReport | undefined): BoardDeployment['drift'] {
  if (!report) return undefined;
  return {
    score: report.score,
    scannedAt: report.scannedAt,
    drifted: report.layers.filter(l => l.verdict === 'drift').map(l => l.layer),
  };
}

export class BoardService {
  constructor(
    private readonly deps: {
      store: StageManagerStore;
      services: ServiceDirectory;
      authorizer: Authorizer<DeploymentResource>;
    },
  ) {}

  async list(
    options: {
      page: PageRequest;
      search?: string;
      owner?: string;
      system?: string;
    },
    credentials: BackstageCredentials,
  ): Promise<Page<BoardRow>> {
    const services = await this.deps.services.list(options, credentials);
    const refs = services.items.map(s => s.entityRef);
    const criteria = await this.deps.authorizer.listCriteria(
      deploymentReadPermission,
      credentials,
    );
    const deployments: Deployment[] = [];
    if (refs.length) {
      for (let offset = 0; ; offset += BATCH) {
        const page = await this.deps.store.deployments.list({
          serviceRefs: refs,
          live: true,
          criteria,
          page: { limit: BATCH, offset },
        });
        deployments.push(...page.items);
        if (offset + BATCH >= page.totalCount) break;
      }
    }
    const names = await this.deps.store.configurations.names(
      deployments.map(d => d.configurationId),
    );
    const pending = await this.deps.store.approvals.countPending(refs);
    const active = new Map<string, BoardDeployment['activeOperation']>();
    for (const op of await this.deps.store.operations.listUnfinished()) {
      for (const id of [op.deploymentId, op.targetDeploymentId]) {
        if (id) active.set(id, { id: op.id, kind: op.kind, state: op.state });
      }
    }
    const drift = await this.deps.store.drift.latest(
      deployments.map(d => d.id),
    );
    const view = (d: Deployment): BoardDeployment => ({
      id: d.id,
      configurationId: d.configurationId,
      configurationName: names.get(d.configurationId),
      configurationVersion: d.configurationVersion,
      state: d.state,
      role: d.role,
      machineCount: d.machines.length,
      leaseExpiresAt: d.leaseExpiresAt,
      activeOperation: active.get(d.id),
      drift: driftOf(drift.get(d.id)),
    });
    return {
      totalCount: services.totalCount,
      items: services.items.map(service => ({
        service,
        cells: service.stages.map(stage => {
          const here = deployments.filter(
            d => d.serviceRef === service.entityRef && d.stage === stage.name,
          );
          const primary = here.find(d => d.role === 'primary');
          return {
            stage: stage.name,
            pool: stage.pool,
            requiredApprovals: stage.requiredApprovals,
            primary: primary && view(primary),
            copies: here.filter(d => d.role === 'copy').map(view),
            retired: here.filter(d => d.role === 'retired').length,
            pendingApprovals:
              pending.find(
                p =>
                  p.serviceRef === service.entityRef && p.stage === stage.name,
              )?.count ?? 0,
          };
        }),
      })),
    };
  }
}
