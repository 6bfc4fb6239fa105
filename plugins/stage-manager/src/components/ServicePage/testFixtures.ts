import {
  ApprovalRequest,
  Deployment,
  Operation,
  ServiceStage,
  StageManagerServiceDetails,
} from '@internal/plugin-stage-manager-common';
import { StageManagerApi } from '../../api';

import { responseError } from '../shared/responseError';

export { responseError };

export const SHOP = 'component:default/shop';

export function deployment(
  id: string,
  stage: string,
  overrides: Partial<Deployment> = {},
): Deployment {
  return {
    id,
    serviceRef: SHOP,
    stage,
    configurationId: 'c0000000-0000-4000-8000-000000000001',
    configurationVersion: 3,
    pool: stage === 'production' ? 'prod' : 'lab',
    state: 'running',
    role: 'primary',
    machines: [
      {
        name: 'web',
        template: 'debian',
        vcpus: 2,
        memoryMiB: 2048,
        diskGiB: 10,
        state: 'running',
      },
      {
        name: 'db',
        template: 'debian',
        vcpus: 4,
        memoryMiB: 1536,
        diskGiB: 20,
        state: 'running',
      },
    ],
    createdAt: '2025-01-01T00:00:00Z',
    createdBy: 'user:default/alice',
    updatedAt: '2025-01-01T00:00:00Z',
    ...overrides,
  };
}

function makeStage(
  name: string,
  deployments: Deployment[],
  overrides: Partial<ServiceStage> = {},
): ServiceStage {
  return {
    name,
    pool: name === 'production' ? 'prod' : 'lab',
    approvers: [],
    requiredApprovals: 0,
    deployments,
    ...overrides,
  };
}

/** Ids of the fixture deployments (first 8 characters are what the page shows). */
export const IDS = {
  integration: '11111111-0000-4000-8000-000000000000',
  test: '22222222-0000-4000-8000-000000000000',
  copy: '33333333-0000-4000-8000-000000000000',
  retired: '44444444-0000-4000-8000-000000000000',
  production: '55555555-0000-4000-8000-000000000000',
};

/**
 * integration (primary) → test (primary, stopped copy, retired) → uat (empty, 1 approval) →
 * production (primary).
 */
export function shopDetails(): StageManagerServiceDetails {
  return {
    entityRef: SHOP,
    kind: 'component',
    namespace: 'default',
    name: 'shop',
    title: 'Shop',
    owner: 'group:default/team-a',
    workflow: 'default',
    problems: [],
    stages: [
      makeStage('integration', [deployment(IDS.integration, 'integration')]),
      makeStage('test', [
        deployment(IDS.retired, 'test', { role: 'retired', state: 'stopped' }),
        deployment(IDS.copy, 'test', {
          role: 'copy',
          state: 'stopped',
          fence: 'sm-fence-33333333',
        }),
        deployment(IDS.test, 'test', {
          fence: 'sm-fence-22222222',
          leaseExpiresAt: new Date(
            Date.now() + 2 * 86_400_000 + 3 * 3_600_000 + 60_000,
          ).toISOString(),
        }),
      ]),
      makeStage('uat', [], {
        pool: 'lab-2',
        approvers: ['group:default/release-managers'],
        requiredApprovals: 1,
      }),
      makeStage('production', [deployment(IDS.production, 'production')]),
    ],
  };
}

export function operation(overrides: Partial<Operation> = {}): Operation {
  return {
    id: 'op-1',
    kind: 'promote',
    serviceRef: SHOP,
    stage: 'test',
    deploymentId: IDS.test,
    targetDeploymentId: '66666666-0000-4000-8000-000000000000',
    targetStage: 'uat',
    params: {},
    state: 'queued',
    steps: [
      { name: 'freeze', title: 'Freeze the source disks', state: 'succeeded' },
      { name: 'clone', title: 'Clone disks into lab-2', state: 'running' },
      { name: 'start', title: 'Start machines', state: 'pending' },
    ],
    requestedBy: 'user:default/alice',
    createdAt: '2025-01-02T00:00:00Z',
    updatedAt: '2025-01-02T00:00:00Z',
    ...overrides,
  };
}

export function approvalRequest(
  overrides: Partial<ApprovalRequest> = {},
): ApprovalRequest {
  return {
    id: 'ap-1',
    operationId: 'op-1',
    serviceRef: SHOP,
    stage: 'uat',
    state: 'pending',
    requiredApprovals: 2,
    approvers: ['group:default/release-managers'],
    requestedBy: 'user:default/bob',
    votes: [
      {
        actor: 'user:default/carol',
        decision: 'approve',
        comment: 'looks good',
        createdAt: '2025-01-02T00:01:00Z',
      },
    ],
    createdAt: '2025-01-02T00:00:00Z',
    expiresAt: new Date(Date.now() + 3 * 3_600_000).toISOString(),
    ...overrides,
  };
}

/** A mocked API answering with the fixtures; override what a test needs. */
export function createApi(
  overrides: Partial<StageManagerApi> = {},
): jest.Mocked<StageManagerApi> {
  const api: Partial<StageManagerApi> = {
    getService: async () => shopDetails(),
    listApprovals: async () => ({ items: [], totalCount: 0 }),
    listOperations: async () => ({ items: [], totalCount: 0 }),
    listAuditEvents: async () => ({ items: [], totalCount: 0 }),
    listArchives: async () => ({ items: [], totalCount: 0 }),
    listArchiveTiers: async () => [],
    getDrift: async () => ({ history: [], scanning: false }),
    listConfigurations: async () => ({
      items: [
        {
          id: 'c0000000-0000-4000-8000-000000000001',
          serviceRef: SHOP,
          name: 'shop-3tier',
          latestVersion: 3,
          createdAt: '2025-01-01T00:00:00Z',
          createdBy: 'user:default/alice',
          updatedAt: '2025-01-01T00:00:00Z',
        },
      ],
      totalCount: 1,
    }),
    ...overrides,
  };
  for (const key of Object.keys(api) as Array<keyof StageManagerApi>) {
    api[key] = jest.fn(api[key] as any) as any;
  }
  return api as jest.Mocked<StageManagerApi>;
}
