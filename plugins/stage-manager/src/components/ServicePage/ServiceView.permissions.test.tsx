import '@testing-library/jest-dom';
import { mockApis, renderInTestApp } from '@backstage/frontend-test-utils';
import {
  AuthorizeResult,
  EvaluatePermissionRequest,
  EvaluatePermissionResponse,
} from '@backstage/plugin-permission-common';
import {
  PermissionApi,
  permissionApiRef,
} from '@backstage/plugin-permission-react';
import { signalApiRef } from '@backstage/plugin-signals-react';
import {
  deploymentApprovePermission,
  deploymentClonePermission,
  deploymentDemotePermission,
} from '@internal/plugin-stage-manager-common';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { StageManagerApi, stageManagerApiRef } from '../../api';
import { rootRouteRef } from '../../routes';
import { ServiceView } from './ServiceView';
import {
  approvalRequest,
  createApi,
  deployment,
  IDS,
  operation,
  SHOP,
  shopDetails,
} from './testFixtures';

// Rendering pages is slow on a busy 2-core CI machine (guests boot in parallel).
jest.setTimeout(30_000);

/*
 * usePermission caches answers by permission and resource ref across renders (SWR), so every
 * test in this file sees the same policy; a test that needs other answers uses deployments no
 * other test asks about.
 */

/** The deployment the approval fixture's promote operation creates in uat. */
const PROMOTED = operation().targetDeploymentId!;

/** Deployments of the tests that need a service of their own (see above). */
const INTEGRATION_COPY = 'aaaaaaaa-0000-4000-8000-000000000000';
const TEST_PRIMARY = 'bbbbbbbb-0000-4000-8000-000000000000';
const UNASKED = 'cccccccc-0000-4000-8000-000000000000';

/** `<permission> <resourceRef>` pairs the policy denies; everything else is allowed. */
const DENIED = new Set([
  `stage-manager.deployment.promote ${IDS.test}`,
  `stage-manager.deployment.demote ${INTEGRATION_COPY}`,
  `stage-manager.deployment.deploy ${IDS.production}`,
  `stage-manager.deployment.lease.extend ${IDS.test}`,
  `stage-manager.deployment.approve ${PROMOTED}`,
]);

const policy = jest.fn((request: EvaluatePermissionRequest) =>
  DENIED.has(`${request.permission.name} ${request.resourceRef}`)
    ? AuthorizeResult.DENY
    : AuthorizeResult.ALLOW,
);

function renderView(
  api: StageManagerApi,
  permissionApi: PermissionApi = mockApis.permission({ authorize: policy }),
) {
  return renderInTestApp(<ServiceView entityRef={SHOP} />, {
    apis: [
      [stageManagerApiRef, api],
      [signalApiRef, { subscribe: () => ({ unsubscribe: () => {} }) }],
      [permissionApiRef, permissionApi],
      mockApis.identity({ userEntityRef: 'user:default/alice' }),
    ],
    mountedRoutes: { '/stage-manager': rootRouteRef },
  });
}

const card = (id: string) =>
  screen.getByRole('group', { name: `Deployment ${id.slice(0, 8)}` });
const stage = (name: string) =>
  screen.getByRole('region', { name: `Stage ${name}` });

/**
 * Expects the button to be disabled for the reason, as its tooltip says (the tooltip's title is on
 * a wrapper: a disabled button gets no pointer events). The button is looked up afresh each time:
 * it is a new element once it changes between enabled and disabled.
 */
async function expectDisabledBecause(
  container: HTMLElement,
  name: string,
  reason: string,
) {
  const button = () => within(container).getByRole('button', { name });
  await waitFor(() =>
    expect(button().parentElement).toHaveAttribute('title', reason),
  );
  expect(button()).toBeDisabled();
  await userEvent.hover(button().parentElement!);
  expect(await screen.findByRole('tooltip')).toHaveTextContent(reason);
  await userEvent.unhover(button().parentElement!);
}

/** The button once enabled (looked up afresh: enabling it makes a new element). */
async function enabled(container: HTMLElement, name: string) {
  const button = () => within(container).getByRole('button', { name });
  await waitFor(() => expect(button()).toBeEnabled());
  return button();
}

describe('ServiceView permissions', () => {
  it('disables the actions the user lacks the permission for, naming it', async () => {
    renderView(createApi());
    await screen.findByText('Shop');

    const test = card(IDS.test);
    await expectDisabledBecause(
      test,
      'Promote',
      'You do not have permission to promote (stage-manager.deployment.promote)',
    );
    // A swap needs the promote permission too.
    await expectDisabledBecause(
      test,
      'Swap',
      'You do not have permission to swap (stage-manager.deployment.promote)',
    );
    await expectDisabledBecause(
      test,
      'Extend',
      'You do not have permission to extend the lease (stage-manager.deployment.lease.extend)',
    );
    // What the policy allows stays enabled.
    expect(await enabled(test, 'Clone')).toBeEnabled();
    expect(await enabled(test, 'Stop')).toBeEnabled();
    expect(await enabled(test, 'Undeploy')).toBeEnabled();

    // Deploying, stopping and undeploying in production are denied.
    const production = card(IDS.production);
    await expectDisabledBecause(
      production,
      'Stop',
      'You do not have permission to stop (stage-manager.deployment.deploy)',
    );
    await expectDisabledBecause(
      production,
      'Undeploy',
      'You do not have permission to undeploy (stage-manager.deployment.deploy)',
    );
    await expectDisabledBecause(
      stage('production'),
      'Deploy',
      'You do not have permission to deploy (stage-manager.deployment.deploy)',
    );
    expect(await enabled(stage('test'), 'Deploy')).toBeEnabled();
    // uat has no deployment to ask about: the backend decides when deploying.
    expect(await enabled(stage('uat'), 'Deploy')).toBeEnabled();
  });

  it('asks about deployments by their id, as the backend loads them', async () => {
    renderView(createApi());
    await screen.findByText('Shop');
    expect(await enabled(card(IDS.test), 'Clone')).toBeEnabled();

    const asked = policy.mock.calls.map(([request]) => request);
    // Only a deployment's own actions ask about clone: by the deployment's id.
    expect(asked).toContainEqual({
      permission: deploymentClonePermission,
      resourceRef: IDS.test,
    });
    expect(asked).toContainEqual({
      permission: deploymentClonePermission,
      resourceRef: IDS.production,
    });
    // Every question names a resource: resource permissions need one.
    expect(asked.every(r => typeof r.resourceRef === 'string')).toBe(true);
  });

  it('gives the state reason when both apply', async () => {
    renderView(createApi());
    await screen.findByText('Shop');

    // The user may neither stop nor start the production primary; starting is moot anyway.
    const production = card(IDS.production);
    await expectDisabledBecause(
      production,
      'Stop',
      'You do not have permission to stop (stage-manager.deployment.deploy)',
    );
    // Start needs the same permission, now known to be denied.
    const start = within(production).getByRole('button', { name: 'Start' });
    expect(start).toBeDisabled();
    expect(start.parentElement).toHaveAttribute(
      'title',
      'Only stopped or failed deployments can be started (this one is running)',
    );
  });

  it('asks about the stage a demote moves into as well', async () => {
    // integration holds only a copy, whose stage the policy closes to demotes.
    const details = shopDetails();
    const api = createApi({
      getService: async () => ({
        ...details,
        stages: [
          {
            ...details.stages[0],
            deployments: [
              deployment(INTEGRATION_COPY, 'integration', { role: 'copy' }),
            ],
          },
          {
            ...details.stages[1],
            deployments: [deployment(TEST_PRIMARY, 'test')],
          },
        ],
      }),
    });
    renderView(api);
    await screen.findByText('Shop');

    await expectDisabledBecause(
      card(TEST_PRIMARY),
      'Demote',
      'You do not have permission to demote (stage-manager.deployment.demote)',
    );
    expect(policy).toHaveBeenCalledWith({
      permission: deploymentDemotePermission,
      resourceRef: TEST_PRIMARY,
    });
    expect(policy).toHaveBeenCalledWith({
      permission: deploymentDemotePermission,
      resourceRef: INTEGRATION_COPY,
    });
  });

  it('lets only users with the approve permission approve or reject', async () => {
    const api = createApi({
      listOperations: async () => ({
        items: [
          operation({ state: 'awaiting-approval', approvalRequestId: 'ap-1' }),
        ],
        totalCount: 1,
      }),
      listApprovals: async () => ({
        items: [approvalRequest()],
        totalCount: 1,
      }),
    });
    renderView(api);

    const request = await screen.findByRole('group', {
      name: 'Approval into uat',
    });
    await expectDisabledBecause(
      request,
      'Approve',
      'You do not have permission to approve (stage-manager.deployment.approve)',
    );
    await expectDisabledBecause(
      request,
      'Reject',
      'You do not have permission to reject (stage-manager.deployment.approve)',
    );
    // Asked about the deployment the promote builds in uat, the stage approvers decide on.
    expect(policy).toHaveBeenCalledWith({
      permission: deploymentApprovePermission,
      resourceRef: PROMOTED,
    });
  });

  it('says it is checking until the permission answers', async () => {
    const details = shopDetails();
    const api = createApi({
      getService: async () => ({
        ...details,
        stages: [
          {
            ...details.stages[0],
            deployments: [deployment(UNASKED, 'integration')],
          },
        ],
      }),
    });
    const answers: Array<() => void> = [];
    const permissionApi: PermissionApi = {
      authorize: request =>
        new Promise<EvaluatePermissionResponse>(resolve =>
          answers.push(() =>
            resolve({
              result:
                request.permission.name === 'stage-manager.deployment.clone'
                  ? AuthorizeResult.DENY
                  : AuthorizeResult.ALLOW,
            }),
          ),
        ),
    };
    renderView(api, permissionApi);
    await screen.findByText('Shop');

    await expectDisabledBecause(card(UNASKED), 'Stop', 'Checking permission…');

    await waitFor(() => expect(answers.length).toBeGreaterThan(0));
    answers.forEach(answer => answer());
    expect(await enabled(card(UNASKED), 'Stop')).toBeEnabled();
    await expectDisabledBecause(
      card(UNASKED),
      'Clone',
      'You do not have permission to clone (stage-manager.deployment.clone)',
    );
  });
});
