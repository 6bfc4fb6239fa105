import '@testing-library/jest-dom';
import { mockApis, renderInTestApp } from '@backstage/frontend-test-utils';
import { signalApiRef } from '@backstage/plugin-signals-react';
import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { StageManagerApi, stageManagerApiRef } from '../../api';
import { rootRouteRef } from '../../routes';
import { ServiceView } from './ServiceView';
import {
  approvalRequest,
  createApi,
  IDS,
  operation,
  responseError,
  SHOP,
  shopDetails,
} from './testFixtures';

// Rendering pages is slow on a busy 2-core CI machine (guests boot in parallel).
jest.setTimeout(30_000);

type SignalHandler = (message: object) => void;

function createSignalApi() {
  const handlers: SignalHandler[] = [];
  return {
    api: {
      subscribe: jest.fn((_channel: string, onMessage: SignalHandler) => {
        handlers.push(onMessage);
        return { unsubscribe: jest.fn() };
      }),
    },
    send: (message: object) => handlers.forEach(h => h(message)),
  };
}

function renderView(
  api: StageManagerApi,
  options: { user?: string; signals?: ReturnType<typeof createSignalApi> } = {},
) {
  const signals = options.signals ?? createSignalApi();
  return renderInTestApp(<ServiceView entityRef={SHOP} />, {
    apis: [
      [stageManagerApiRef, api],
      [signalApiRef, signals.api],
      mockApis.identity({
        userEntityRef: options.user ?? 'user:default/alice',
      }),
      // Everything allowed; denials are tested in ServiceView.permissions.test.tsx.
      mockApis.permission(),
    ],
    mountedRoutes: { '/stage-manager': rootRouteRef },
  });
}

const card = (id: string) =>
  screen.getByRole('group', { name: `Deployment ${id.slice(0, 8)}` });

/**
 * A button once its permission check allowed it (the check is asynchronous; the button is a new
 * element once enabled).
 */
async function enabled(container: HTMLElement, name: string) {
  const button = () => within(container).getByRole('button', { name });
  await waitFor(() => expect(button()).toBeEnabled());
  return button();
}

async function expectTooltip(button: HTMLElement, text: string) {
  expect(button).toBeDisabled();
  await userEvent.hover(button.parentElement!);
  expect(await screen.findByRole('tooltip')).toHaveTextContent(text);
  await userEvent.unhover(button.parentElement!);
}

describe('ServiceView', () => {
  it('renders the stages left to right with their deployments, primary first', async () => {
    const api = createApi();
    renderView(api);

    expect(await screen.findByText('Shop')).toBeInTheDocument();
    expect(api.getService).toHaveBeenCalledWith(SHOP);

    const stages = screen.getAllByRole('region', { name: /^Stage / });
    expect(stages.map(s => s.getAttribute('aria-label'))).toEqual([
      'Stage integration',
      'Stage test',
      'Stage uat',
      'Stage production',
    ]);
    const uat = within(stages[2]);
    expect(uat.getByText('Pool lab-2')).toBeInTheDocument();
    expect(
      uat.getByText('1 approval(s) from group:default/release-managers'),
    ).toBeInTheDocument();
    expect(uat.getByText('Nothing deployed.')).toBeInTheDocument();

    // In the test stage: primary, then the copy, then the retired deployment.
    const test = within(stages[1]);
    expect(
      test.getAllByRole('group').map(g => g.getAttribute('aria-label')),
    ).toEqual([
      'Deployment 22222222',
      'Deployment 33333333',
      'Deployment 44444444',
    ]);

    const primary = within(card(IDS.test));
    expect(primary.getByText('primary')).toBeInTheDocument();
    // The state chip and both machines.
    expect(primary.getAllByText('running')).toHaveLength(3);
    expect(primary.getByText('shop-3tier v3')).toBeInTheDocument();
    expect(primary.getByText('Fence sm-fence-22222222')).toBeInTheDocument();
    expect(primary.getByText('Lease: 2d 3h')).toBeInTheDocument();
    const machines = within(
      primary.getByRole('table', { name: 'Machines of 22222222' }),
    ).getAllByRole('row');
    expect(machines[1]).toHaveTextContent(/^web22 GiBrunning$/);
    expect(machines[2]).toHaveTextContent(/^db41536 MiBrunning$/);
    expect(primary.getByRole('link', { name: 'Consoles' })).toHaveAttribute(
      'href',
      `/stage-manager/deployments/${IDS.test}/consoles`,
    );
  });

  it('disables actions that cannot work, saying why', async () => {
    renderView(createApi());
    await screen.findByText('Shop');

    // Stop on a stopped deployment; start is possible.
    const copy = within(card(IDS.copy));
    await expectTooltip(
      copy.getByRole('button', { name: 'Stop' }),
      'Only running deployments can be stopped (this one is stopped)',
    );
    expect(await enabled(card(IDS.copy), 'Start')).toBeEnabled();

    // Promote from the last stage.
    await expectTooltip(
      within(card(IDS.production)).getByRole('button', { name: 'Promote' }),
      'production is the last stage: nothing to promote to',
    );

    // Promote into a stage that already runs a primary.
    await expectTooltip(
      within(card(IDS.integration)).getByRole('button', { name: 'Promote' }),
      'test already runs a primary; swap instead',
    );
    // Demote from the first stage.
    await expectTooltip(
      within(card(IDS.integration)).getByRole('button', { name: 'Demote' }),
      'integration is the first stage: nothing to demote to',
    );

    // uat is empty: the test primary can be promoted.
    expect(await enabled(card(IDS.test), 'Promote')).toBeEnabled();
  });

  it('disables the actions of a deployment an operation works on', async () => {
    const api = createApi({
      listOperations: async () => ({
        items: [
          operation({ state: 'awaiting-approval', approvalRequestId: 'ap-1' }),
        ],
        totalCount: 1,
      }),
      listApprovals: async () => ({
        items: [approvalRequest({ requiredApprovals: 2 })],
        totalCount: 1,
      }),
    });
    renderView(api);
    await screen.findByText('Shop');

    const test = within(card(IDS.test));
    await waitFor(() =>
      expect(test.getByRole('button', { name: 'Stop' })).toBeDisabled(),
    );
    await expectTooltip(
      test.getByRole('button', { name: 'Stop' }),
      'promote to uat awaits approval (1 of 2)',
    );
  });

  it('promotes and shows the operation in progress', async () => {
    const promoted = operation();
    const api = createApi({ promote: async () => promoted });
    renderView(api);
    await screen.findByText('Shop');
    expect(screen.queryByText('Operations')).not.toBeInTheDocument();

    await userEvent.click(await enabled(card(IDS.test), 'Promote'));

    expect(api.promote).toHaveBeenCalledWith(IDS.test);
    const panel = within(
      await screen.findByRole('group', {
        name: 'Operation promote 22222222 → uat',
      }),
    );
    expect(panel.getByText(/in progress/)).toBeInTheDocument();
    expect(panel.getByText('queued')).toBeInTheDocument();
    expect(panel.getByText('1/3 steps')).toBeInTheDocument();
    expect(
      panel.getByRole('progressbar', { name: '1 of 3 steps done' }),
    ).toHaveAttribute('aria-valuenow', '33');
    expect(panel.getByText('Clone disks into lab-2')).toBeInTheDocument();
    // The deployment is busy now.
    await expectTooltip(
      within(card(IDS.test)).getByRole('button', { name: 'Stop' }),
      'promote in progress',
    );
  });

  it('shows why the backend refused an action', async () => {
    const error = await responseError(
      403,
      'Forbidden',
      'NotAllowedError',
      'You are not allowed to promote deployments of component:default/shop',
    );
    const api = createApi({
      promote: async () => {
        throw error;
      },
    });
    renderView(api);
    await screen.findByText('Shop');

    await userEvent.click(await enabled(card(IDS.test), 'Promote'));

    expect(await within(card(IDS.test)).findByRole('alert')).toHaveTextContent(
      'Promote failed: You are not allowed to promote deployments of component:default/shop',
    );
  });

  it('stops after a click and undeploys after confirmation', async () => {
    const api = createApi({
      stop: async () =>
        operation({
          id: 'op-stop',
          kind: 'stop',
          targetStage: undefined,
          targetDeploymentId: undefined,
        }),
      undeploy: async () =>
        operation({
          id: 'op-undeploy',
          kind: 'undeploy',
          deploymentId: IDS.copy,
          targetStage: undefined,
          targetDeploymentId: undefined,
        }),
    });
    renderView(api);
    await screen.findByText('Shop');

    await userEvent.click(await enabled(card(IDS.test), 'Stop'));
    expect(api.stop).toHaveBeenCalledWith(IDS.test);

    await userEvent.click(await enabled(card(IDS.copy), 'Undeploy'));
    const dialog = within(await screen.findByRole('dialog'));
    expect(api.undeploy).not.toHaveBeenCalled();
    await userEvent.click(dialog.getByRole('button', { name: 'Undeploy' }));
    expect(api.undeploy).toHaveBeenCalledWith(IDS.copy);
    expect(
      await screen.findByRole('group', { name: 'Operation undeploy 33333333' }),
    ).toBeInTheDocument();
  });

  it('clones into a chosen stage with full disks', async () => {
    const api = createApi({
      clone: async () => operation({ id: 'op-clone', kind: 'clone' }),
    });
    renderView(api);
    await screen.findByText('Shop');

    await userEvent.click(await enabled(card(IDS.test), 'Clone'));
    const dialog = within(await screen.findByRole('dialog'));
    await userEvent.click(dialog.getByLabelText('Target stage'));
    await userEvent.click(
      await screen.findByRole('option', { name: 'uat (lab-2)' }),
    );
    await userEvent.click(dialog.getByLabelText('Full copy'));
    await userEvent.click(dialog.getByRole('button', { name: 'Clone' }));

    expect(api.clone).toHaveBeenCalledWith(IDS.test, {
      stage: 'uat',
      mode: 'full',
    });
  });

  it('deploys a configuration version into a stage', async () => {
    const api = createApi({
      deploy: async () =>
        operation({ id: 'op-deploy', kind: 'deploy', deploymentId: undefined }),
    });
    renderView(api);
    await screen.findByText('Shop');

    await userEvent.click(
      await enabled(
        screen.getByRole('region', { name: 'Stage uat' }),
        'Deploy',
      ),
    );
    const dialog = within(await screen.findByRole('dialog'));
    const version = dialog.getByLabelText('Version');
    expect(version).toHaveValue(3);
    await userEvent.clear(version);
    await userEvent.type(version, '2');
    await userEvent.click(dialog.getByRole('button', { name: 'Deploy' }));

    expect(api.listConfigurations).toHaveBeenCalledWith({ serviceRef: SHOP });
    expect(api.deploy).toHaveBeenCalledWith({
      configurationId: 'c0000000-0000-4000-8000-000000000001',
      version: 2,
      stage: 'uat',
    });
    expect(
      await screen.findByRole('group', { name: 'Operation deploy → uat' }),
    ).toBeInTheDocument();
  });

  it('extends a lease and shows the refusal when it is at its maximum', async () => {
    const error = await responseError(
      409,
      'Conflict',
      'ConflictError',
      `The lease of deployment ${IDS.test} is already at its maximum, 2025-02-01T00:00:00Z`,
    );
    const api = createApi({
      extendLease: jest
        .fn()
        .mockRejectedValueOnce(error)
        .mockResolvedValueOnce({
          deploymentId: IDS.test,
          runtimeExpiresAt: '2025-01-20T12:00:00Z',
          createdAt: '2025-01-01T00:00:00Z',
          updatedAt: '2025-01-01T00:00:00Z',
        }),
    });
    renderView(api);
    await screen.findByText('Shop');

    await userEvent.click(await enabled(card(IDS.test), 'Extend'));
    let dialog = within(await screen.findByRole('dialog'));
    await userEvent.click(dialog.getByLabelText('3 days'));
    await userEvent.click(dialog.getByRole('button', { name: 'Extend' }));

    expect(api.extendLease).toHaveBeenCalledWith(IDS.test, 'P3D');
    expect(await dialog.findByRole('alert')).toHaveTextContent(
      `The lease of deployment ${IDS.test} is already at its maximum`,
    );

    // A shorter extension is accepted.
    await userEvent.click(dialog.getByLabelText('1 day'));
    await userEvent.click(dialog.getByRole('button', { name: 'Extend' }));
    expect(api.extendLease).toHaveBeenLastCalledWith(IDS.test, 'P1D');
    await waitFor(() =>
      expect(screen.queryByRole('dialog')).not.toBeInTheDocument(),
    );
    expect(within(card(IDS.test)).getByRole('status')).toHaveTextContent(
      /Lease extended: runs until/,
    );
    dialog = within(card(IDS.test));
    expect(dialog.queryByRole('alert')).not.toBeInTheDocument();
  });

  it('lets an approver approve a pending request', async () => {
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
      approve: async () => approvalRequest({ state: 'approved' }),
    });
    renderView(api, { user: 'user:default/alice' });

    const request = within(
      await screen.findByRole('group', { name: 'Approval into uat' }),
    );
    expect(request.getByText(/1 of 2 approvals/)).toBeInTheDocument();
    expect(
      request.getByText('user:default/carol approved: “looks good”'),
    ).toBeInTheDocument();
    expect(
      request.queryByRole('button', { name: 'Cancel request' }),
    ).not.toBeInTheDocument();
    const approve = request.getByRole('button', { name: 'Approve' });
    await waitFor(() => expect(approve).toBeEnabled());

    await userEvent.click(approve);
    const dialog = within(await screen.findByRole('dialog'));
    await userEvent.type(
      dialog.getByLabelText('Comment (optional)'),
      'ship it',
    );
    await userEvent.click(dialog.getByRole('button', { name: 'Approve' }));

    expect(api.approve).toHaveBeenCalledWith('ap-1', 'ship it');
    // The decision refreshes the approvals.
    await waitFor(() => expect(api.listApprovals).toHaveBeenCalledTimes(2));
  });

  it('shows an approver the backend refusal', async () => {
    const error = await responseError(
      403,
      'Forbidden',
      'NotAllowedError',
      'user:default/alice is not an approver of uat',
    );
    const api = createApi({
      listApprovals: async () => ({
        items: [approvalRequest()],
        totalCount: 1,
      }),
      reject: async () => {
        throw error;
      },
    });
    renderView(api);

    const request = within(
      await screen.findByRole('group', { name: 'Approval into uat' }),
    );
    const reject = request.getByRole('button', { name: 'Reject' });
    await waitFor(() => expect(reject).toBeEnabled());
    await userEvent.click(reject);
    const dialog = within(await screen.findByRole('dialog'));
    await userEvent.click(dialog.getByRole('button', { name: 'Reject' }));

    expect(api.reject).toHaveBeenCalledWith('ap-1', undefined);
    expect(await dialog.findByRole('alert')).toHaveTextContent(
      'user:default/alice is not an approver of uat',
    );
  });

  it('does not let the requester vote, but lets them cancel', async () => {
    const api = createApi({
      listApprovals: async () => ({
        items: [approvalRequest()],
        totalCount: 1,
      }),
      cancelApproval: async () => approvalRequest({ state: 'cancelled' }),
    });
    renderView(api, { user: 'user:default/bob' });

    const request = within(
      await screen.findByRole('group', { name: 'Approval into uat' }),
    );
    await waitFor(() =>
      expect(
        request.getByRole('button', { name: 'Cancel request' }),
      ).toBeInTheDocument(),
    );
    await expectTooltip(
      request.getByRole('button', { name: 'Approve' }),
      'You requested this',
    );
    expect(request.getByRole('button', { name: 'Reject' })).toBeDisabled();

    await userEvent.click(
      request.getByRole('button', { name: 'Cancel request' }),
    );
    const dialog = within(await screen.findByRole('dialog'));
    await userEvent.click(
      dialog.getByRole('button', { name: 'Cancel request' }),
    );
    expect(api.cancelApproval).toHaveBeenCalledWith('ap-1', undefined);
  });

  it('re-fetches an operation when a signal reports progress, and the service when it ends', async () => {
    const running = operation({ id: 'op-9', state: 'running' });
    const api = createApi({
      getOperation: jest
        .fn()
        .mockResolvedValueOnce(running)
        .mockResolvedValueOnce({
          ...running,
          state: 'failed',
          error: 'Pool lab-2 is out of disk space',
          steps: running.steps.map(s =>
            s.name === 'clone'
              ? { ...s, state: 'failed', error: 'No space left on device' }
              : s,
          ),
        }),
    });
    const signals = createSignalApi();
    renderView(api, { signals });
    await screen.findByText('Shop');
    expect(signals.api.subscribe).toHaveBeenCalledWith(
      'stage-manager:operations',
      expect.any(Function),
    );
    const serviceLoads = api.getService.mock.calls.length;

    act(() =>
      signals.send({
        operationId: 'op-9',
        kind: 'promote',
        state: 'running',
        deploymentId: IDS.test,
        targetDeploymentId: null,
        step: 1,
        steps: 3,
        currentStep: 'clone',
      }),
    );
    expect(api.getOperation).toHaveBeenCalledWith('op-9');
    const panel = within(
      await screen.findByRole('group', {
        name: 'Operation promote 22222222 → uat',
      }),
    );
    expect(panel.getByText('running')).toBeInTheDocument();

    act(() =>
      signals.send({
        operationId: 'op-9',
        kind: 'promote',
        state: 'failed',
        deploymentId: IDS.test,
        targetDeploymentId: null,
        step: 1,
        steps: 3,
        currentStep: null,
      }),
    );
    expect(
      await panel.findByText('Pool lab-2 is out of disk space'),
    ).toBeInTheDocument();
    expect(panel.getByText('No space left on device')).toBeInTheDocument();
    expect(api.getOperation).toHaveBeenCalledTimes(2);
    await waitFor(() =>
      expect(api.getService.mock.calls.length).toBeGreaterThan(serviceLoads),
    );
  });

  it('ignores signals of other services after one look', async () => {
    const api = createApi({
      getOperation: async () =>
        operation({ id: 'op-x', serviceRef: 'component:default/other' }),
    });
    const signals = createSignalApi();
    renderView(api, { signals });
    await screen.findByText('Shop');

    const message = {
      operationId: 'op-x',
      kind: 'stop',
      state: 'running',
      deploymentId: 'ffffffff-0000-4000-8000-000000000000',
      targetDeploymentId: null,
      step: 0,
      steps: 2,
      currentStep: 'stop-machines',
    };
    act(() => signals.send(message));
    await waitFor(() => expect(api.getOperation).toHaveBeenCalledTimes(1));
    act(() => signals.send({ ...message, step: 1 }));
    await new Promise(r => setTimeout(r, 50));
    expect(api.getOperation).toHaveBeenCalledTimes(1);
    expect(screen.queryByText('Operations')).not.toBeInTheDocument();
  });

  it('polls unfinished operations when signals are not available', async () => {
    jest.useFakeTimers({ advanceTimers: true });
    try {
      const running = operation({ state: 'running' });
      const api = createApi({
        listOperations: jest
          .fn()
          .mockResolvedValueOnce({ items: [running], totalCount: 1 })
          .mockResolvedValue({
            items: [{ ...running, state: 'succeeded' }],
            totalCount: 1,
          }),
      });
      renderView(api);
      expect(
        await screen.findByRole('group', {
          name: 'Operation promote 22222222 → uat',
        }),
      ).toHaveTextContent('in progress');

      await act(async () => {
        jest.advanceTimersByTime(3000);
      });

      await waitFor(() => expect(api.listOperations).toHaveBeenCalledTimes(2));
      expect(
        await screen.findByRole('group', {
          name: 'Operation promote 22222222 → uat',
        }),
      ).toHaveTextContent('succeeded');
      // Finished: the audit log is reloaded.
      await waitFor(() =>
        expect(api.listAuditEvents.mock.calls.length).toBeGreaterThan(1),
      );
    } finally {
      jest.useRealTimers();
    }
  });

  it('shows the audit log newest first and loads more', async () => {
    const event = (i: number) => ({
      id: `ev-${i}`,
      at: new Date(Date.UTC(2025, 0, 1, 0, i)).toISOString(),
      actor: 'user:default/alice',
      action: i % 2 ? 'deployment.promote' : 'deployment.stop',
      targetKind: 'deployment',
      targetId: IDS.test,
      serviceRef: SHOP,
    });
    const api = createApi({
      listAuditEvents: async ({ offset = 0 } = {}) => ({
        items:
          offset === 0
            ? Array.from({ length: 50 }, (_, i) => event(59 - i))
            : Array.from({ length: 10 }, (_, i) => event(9 - i)),
        totalCount: 60,
      }),
    });
    renderView(api);

    const log = await screen.findByRole('table', { name: 'Audit log' });
    expect(api.listAuditEvents).toHaveBeenCalledWith({
      serviceRef: SHOP,
      limit: 50,
      offset: 0,
    });
    const rows = within(log).getAllByRole('row');
    expect(rows).toHaveLength(51);
    expect(rows[1]).toHaveTextContent('deployment.promote');
    expect(rows[1]).toHaveTextContent('deployment 22222222');

    await userEvent.click(
      screen.getByRole('button', { name: 'Load more (50 of 60)' }),
    );
    await waitFor(() =>
      expect(within(log).getAllByRole('row')).toHaveLength(61),
    );
    expect(api.listAuditEvents).toHaveBeenLastCalledWith({
      serviceRef: SHOP,
      limit: 50,
      offset: 50,
    });
    expect(
      screen.queryByRole('button', { name: /Load more/ }),
    ).not.toBeInTheDocument();
  });

  it('shows API errors', async () => {
    const error = await responseError(
      404,
      'Not Found',
      'NotFoundError',
      `No service '${SHOP}'`,
    );
    const api = createApi({
      getService: async () => {
        throw error;
      },
    });
    renderView(api);

    expect(await screen.findByRole('alert')).toHaveTextContent(
      `Request failed with 404 Not Found: No service '${SHOP}'`,
    );
    expect(
      screen.queryByRole('region', { name: /^Stage / }),
    ).not.toBeInTheDocument();
  });

  it('shows the problems of a service with invalid annotations', async () => {
    const api = createApi({
      getService: async () => ({
        ...shopDetails(),
        stages: [],
        problems: ['Workflow "nightly" is not defined in app-config'],
      }),
    });
    renderView(api);

    expect(
      await screen.findByText(
        'Workflow "nightly" is not defined in app-config',
      ),
    ).toBeInTheDocument();
  });
});
