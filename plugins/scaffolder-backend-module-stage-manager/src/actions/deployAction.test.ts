import { mockCredentials } from '@backstage/backend-test-utils';
import {
  FakeStageManagerServer,
  succeedingPhases,
} from '../__testUtils__/FakeStageManagerServer';
import {
  createTestActionContext,
  createTestClient,
  INITIATOR,
  tokenOnBehalfOf,
} from '../__testUtils__/testContext';
import { createDeployAction } from './deployAction';
import { DRY_RUN_ID } from './operationFields';

describe('stage-manager:deploy', () => {
  const server = FakeStageManagerServer.forTests();

  function setup() {
    const { auth, client } = createTestClient(server);
    const action = createDeployAction({ client, pollIntervalMs: 5 });
    const configuration = server.addConfiguration({ latestVersion: 2 });
    return { auth, action, configuration };
  }

  it('deploys with a token issued on behalf of the initiator and outputs the new deployment', async () => {
    const { auth, action, configuration } = setup();
    const { ctx, outputs } = createTestActionContext({
      input: { configurationId: configuration.id, stage: 'integration' },
    });

    await action.handler(ctx);

    expect(server.mutatingRequests()).toEqual([
      {
        method: 'POST',
        path: '/deployments',
        body: { configurationId: configuration.id, stage: 'integration' },
        authorization: `Bearer ${tokenOnBehalfOf(INITIATOR)}`,
      },
    ]);
    expect(auth.getPluginRequestToken).toHaveBeenCalledWith({
      onBehalfOf: INITIATOR,
      targetPluginId: 'stage-manager',
    });
    expect(auth.getOwnServiceCredentials).not.toHaveBeenCalled();
    for (const request of server.requests) {
      expect(request.authorization).toBe(
        `Bearer ${tokenOnBehalfOf(INITIATOR)}`,
      );
    }
    const operation = server.lastOperation();
    expect(outputs()).toEqual({
      operationId: operation.id,
      deploymentId: operation.targetDeploymentId,
      state: 'succeeded',
    });
  });

  it('acts as whoever started the task', async () => {
    const { action, configuration } = setup();
    const bob = mockCredentials.user('user:default/bob');
    const { ctx } = createTestActionContext({
      input: { configurationId: configuration.id, stage: 'integration' },
      credentials: bob,
    });

    await action.handler(ctx);

    expect(server.requests.map(r => r.authorization)).toEqual(
      server.requests.map(() => `Bearer ${tokenOnBehalfOf(bob)}`),
    );
    expect(tokenOnBehalfOf(bob)).not.toBe(tokenOnBehalfOf(INITIATOR));
  });

  it('waits across queued, running and succeeded and logs each step', async () => {
    const { action, configuration } = setup();
    server.scriptNextOperation(succeedingPhases());
    const { ctx, logLines } = createTestActionContext({
      input: { configurationId: configuration.id, version: 2, stage: 'test' },
    });

    await action.handler(ctx);

    const operation = server.lastOperation();
    expect(server.pollsOf(operation.id)).toBe(3);
    const lines = logLines();
    const order = [
      `Requested deploy of version 2 of configuration ${configuration.id} into stage test: operation ${operation.id} is queued`,
      `Operation ${operation.id} (deploy) is running, 5 steps`,
      'step 1/5: Reserve capacity …',
      'step 1/5: Reserve capacity done',
      'step 2/5: Create fenced network done',
      'step 3/5: Create disks …',
      'step 5/5: Start machines done',
      `Operation ${operation.id} (deploy) succeeded`,
    ].map(line => lines.indexOf(line));
    expect(order).not.toContain(-1);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(server.mutatingRequests()[0].body).toEqual({
      configurationId: configuration.id,
      version: 2,
      stage: 'test',
    });
  });

  it('throws the operation’s error when it is rolled back', async () => {
    const { action, configuration } = setup();
    server.scriptNextOperation([
      { state: 'queued' },
      {
        state: 'running',
        steps: [
          { name: 'reserve', title: 'Reserve capacity', state: 'running' },
        ],
      },
      {
        state: 'rolling-back',
        steps: [
          {
            name: 'reserve',
            title: 'Reserve capacity',
            state: 'failed',
            error: 'not enough memory',
          },
        ],
        error:
          'Pool lab has 96 MiB of memory left, the deployment needs 192 MiB',
      },
      {
        state: 'rolled-back',
        error:
          'Pool lab has 96 MiB of memory left, the deployment needs 192 MiB',
      },
    ]);
    const { ctx, logLines, outputs } = createTestActionContext({
      input: { configurationId: configuration.id, stage: 'integration' },
    });

    await expect(action.handler(ctx)).rejects.toThrow(
      /deploy operation .* rolled-back: Pool lab has 96 MiB of memory left, the deployment needs 192 MiB$/,
    );
    expect(logLines()).toContain(
      'warn: step 1/1: Reserve capacity failed: not enough memory',
    );
    expect(logLines().some(l => l.includes('is rolling back'))).toBe(true);
    expect(outputs()).toEqual({});
  });

  it('throws on a failed operation', async () => {
    const { action, configuration } = setup();
    server.scriptNextOperation([
      { state: 'queued' },
      { state: 'failed', error: 'libvirt: domain already exists' },
    ]);
    const { ctx } = createTestActionContext({
      input: { configurationId: configuration.id, stage: 'integration' },
    });

    await expect(action.handler(ctx)).rejects.toThrow(
      'failed: libvirt: domain already exists',
    );
  });

  it('surfaces the backend’s error message, and a retry may request again', async () => {
    const { action, configuration } = setup();
    server.failRequests({
      method: 'POST',
      path: /^\/deployments$/,
      status: 409,
      name: 'ConflictError',
      message:
        'Stage integration already runs deployment 1234: swap into it instead',
    });
    const { ctx, checkpoints } = createTestActionContext({
      input: { configurationId: configuration.id, stage: 'integration' },
    });

    await expect(action.handler(ctx)).rejects.toThrow(
      'Stage Manager answered POST /deployments with 409 ConflictError: Stage integration already runs deployment 1234: swap into it instead',
    );
    expect(checkpoints.size).toBe(0);
  });

  it('does not deploy again when a retried task already holds the checkpoint', async () => {
    const { action, configuration } = setup();
    const input = { configurationId: configuration.id, stage: 'integration' };
    const first = createTestActionContext({ input });
    await action.handler(first.ctx);
    expect(server.mutatingRequests()).toHaveLength(1);

    const retry = createTestActionContext({
      input,
      checkpoints: first.checkpoints,
    });
    await action.handler(retry.ctx);

    expect(server.mutatingRequests()).toHaveLength(1);
    expect(retry.outputs()).toEqual(first.outputs());
    expect(retry.logLines()).toContain(
      `Already requested deploy of the latest version of configuration ${
        configuration.id
      } into stage integration in an earlier attempt of this task: operation ${
        first.outputs().operationId
      }`,
    );
  });

  it('returns once the operation is accepted with wait: false', async () => {
    const { action, configuration } = setup();
    const { ctx, outputs } = createTestActionContext({
      input: {
        configurationId: configuration.id,
        stage: 'integration',
        wait: false,
      },
    });

    await action.handler(ctx);

    expect(outputs()).toMatchObject({ state: 'queued' });
    expect(server.requests.map(r => `${r.method} ${r.path}`)).toEqual([
      'POST /deployments',
    ]);
  });

  it('times out while the operation is still running', async () => {
    const { action, configuration } = setup();
    server.scriptNextOperation([{ state: 'queued' }, { state: 'running' }]);
    const { ctx } = createTestActionContext({
      input: {
        configurationId: configuration.id,
        stage: 'integration',
        timeoutMinutes: 0.001,
      },
    });

    await expect(action.handler(ctx)).rejects.toThrow(
      /^Timed out after 60 ms waiting for Stage Manager deploy operation .*, which is running/,
    );
  });

  describe('dry run', () => {
    it('looks the configuration up and makes no mutating request', async () => {
      const { action, configuration } = setup();
      const { ctx, outputs, logLines } = createTestActionContext({
        input: { configurationId: configuration.id, stage: 'integration' },
        isDryRun: true,
      });

      await action.handler(ctx);

      expect(server.requests.map(r => `${r.method} ${r.path}`)).toEqual([
        `GET /configurations/${configuration.id}`,
      ]);
      expect(ctx.checkpoint).not.toHaveBeenCalled();
      expect(logLines()).toContain(
        `Dry run: would deploy the latest version of configuration 'web' of component:default/shop-frontend into stage integration and wait for it`,
      );
      expect(outputs()).toEqual({
        operationId: DRY_RUN_ID,
        deploymentId: DRY_RUN_ID,
        state: 'queued',
      });
    });

    it('does not look up the placeholder of an earlier dry-run step', async () => {
      const { action } = setup();
      const { ctx } = createTestActionContext({
        input: { configurationId: DRY_RUN_ID, stage: 'integration' },
        isDryRun: true,
      });

      await action.handler(ctx);

      expect(server.requests).toEqual([]);
    });

    it('reports invalid input and unknown versions', async () => {
      const { action, configuration } = setup();
      await expect(
        action.handler(
          createTestActionContext({
            input: { configurationId: configuration.id, stage: 'Integration' },
            isDryRun: true,
          }).ctx,
        ),
      ).rejects.toThrow(
        /^Invalid input for POST \/deployments: stage: must be lower-case/,
      );
      expect(server.requests).toEqual([]);

      await expect(
        action.handler(
          createTestActionContext({
            input: {
              configurationId: configuration.id,
              version: 7,
              stage: 'integration',
            },
            isDryRun: true,
          }).ctx,
        ),
      ).rejects.toThrow(
        "Configuration 'web' has no version 7; its latest is 2",
      );
      expect(server.mutatingRequests()).toEqual([]);
    });
  });
});
