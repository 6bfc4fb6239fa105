import { FakeStageManagerServer } from '../__testUtils__/FakeStageManagerServer';
import {
  createTestActionContext,
  createTestClient,
  INITIATOR,
  tokenOnBehalfOf,
} from '../__testUtils__/testContext';
import { createCloneAction } from './cloneAction';
import { DRY_RUN_ID } from './operationFields';

describe('stage-manager:clone', () => {
  const server = FakeStageManagerServer.forTests();

  function setup() {
    const { client } = createTestClient(server);
    const action = createCloneAction({ client, pollIntervalMs: 5 });
    const source = server.addDeployment({ stage: 'test' });
    return { action, source };
  }

  it('clones as the initiator and outputs the copy', async () => {
    const { action, source } = setup();
    const { ctx, outputs } = createTestActionContext({
      input: { deploymentId: source.id, stage: 'staging' },
    });

    await action.handler(ctx);

    expect(server.mutatingRequests()).toEqual([
      {
        method: 'POST',
        path: `/deployments/${source.id}/clone`,
        body: { stage: 'staging', mode: 'linked' },
        authorization: `Bearer ${tokenOnBehalfOf(INITIATOR)}`,
      },
    ]);
    const operation = server.lastOperation();
    expect(outputs()).toEqual({
      operationId: operation.id,
      deploymentId: operation.targetDeploymentId,
      state: 'succeeded',
    });
  });

  it('never clones twice when a retried task already holds the checkpoint', async () => {
    const { action, source } = setup();
    const input = { deploymentId: source.id, mode: 'full' as const };
    const first = createTestActionContext({ input });
    await action.handler(first.ctx);
    const retry = createTestActionContext({
      input,
      checkpoints: first.checkpoints,
    });
    await action.handler(retry.ctx);

    expect(server.mutatingRequests()).toHaveLength(1);
    expect(server.mutatingRequests()[0].body).toEqual({ mode: 'full' });
    expect(retry.outputs()).toEqual(first.outputs());
    // The retry waited for the recorded operation again.
    expect(server.pollsOf(first.outputs().operationId)).toBeGreaterThan(3);
  });

  it('surfaces the backend’s error message', async () => {
    const { action, source } = setup();
    server.failRequests({
      method: 'POST',
      path: /\/clone$/,
      status: 409,
      name: 'ConflictError',
      message: `Deployment ${source.id} is provisioning: only running or stopped deployments can be cloned`,
    });
    const { ctx } = createTestActionContext({
      input: { deploymentId: source.id },
    });

    await expect(action.handler(ctx)).rejects.toThrow(
      `Deployment ${source.id} is provisioning: only running or stopped deployments can be cloned`,
    );
  });

  it('dry run looks the source up and makes no mutating request', async () => {
    const { action, source } = setup();
    const { ctx, outputs, logLines } = createTestActionContext({
      input: { deploymentId: source.id, mode: 'full' as const },
      isDryRun: true,
    });

    await action.handler(ctx);

    expect(server.requests.map(r => `${r.method} ${r.path}`)).toEqual([
      `GET /deployments/${source.id}`,
    ]);
    expect(logLines()).toEqual([
      `Dry run: would clone deployment ${source.id} of component:default/shop-frontend (stage test, running) into its stage as a full copy`,
    ]);
    expect(outputs()).toMatchObject({ operationId: DRY_RUN_ID });
  });

  it('dry run fails for a deployment that does not exist', async () => {
    const { action } = setup();
    const { ctx } = createTestActionContext({
      input: { deploymentId: '5b0f3a51-0c55-4c4e-9d0f-0a3c1b7e2d11' },
      isDryRun: true,
    });

    await expect(action.handler(ctx)).rejects.toThrow(
      '404 NotFoundError: Deployment 5b0f3a51-0c55-4c4e-9d0f-0a3c1b7e2d11 not found',
    );
  });
});
