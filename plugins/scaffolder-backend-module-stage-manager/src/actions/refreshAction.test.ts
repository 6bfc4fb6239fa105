import { FakeStageManagerServer } from '../__testUtils__/FakeStageManagerServer';
import {
  createTestActionContext,
  createTestClient,
  INITIATOR,
  tokenOnBehalfOf,
} from '../__testUtils__/testContext';
import { DRY_RUN_ID } from './operationFields';
import { createRefreshAction } from './refreshAction';

describe('stage-manager:refresh', () => {
  const server = FakeStageManagerServer.forTests();

  function setup() {
    const { client } = createTestClient(server);
    const action = createRefreshAction({ client, pollIntervalMs: 5 });
    const copy = server.addDeployment({ stage: 'test', role: 'copy' });
    return { action, copy };
  }

  it('refreshes the copy as the initiator and outputs the same deployment', async () => {
    const { action, copy } = setup();
    const { ctx, outputs } = createTestActionContext({
      input: { deploymentId: copy.id },
    });

    await action.handler(ctx);

    expect(server.mutatingRequests()).toEqual([
      {
        method: 'POST',
        path: `/deployments/${copy.id}/refresh`,
        // An empty object (the fake records empty bodies as absent).
        body: undefined,
        authorization: `Bearer ${tokenOnBehalfOf(INITIATOR)}`,
      },
    ]);
    expect(outputs()).toEqual({
      operationId: server.lastOperation().id,
      deploymentId: copy.id,
      state: 'succeeded',
    });
  });

  it('never refreshes twice when a retried task already holds the checkpoint', async () => {
    const { action, copy } = setup();
    const input = { deploymentId: copy.id };
    const first = createTestActionContext({ input });
    await action.handler(first.ctx);
    const retry = createTestActionContext({
      input,
      checkpoints: first.checkpoints,
    });
    await action.handler(retry.ctx);

    expect(server.mutatingRequests()).toHaveLength(1);
    expect(retry.outputs()).toEqual(first.outputs());
  });

  it('surfaces the backend’s error message', async () => {
    const { action, copy } = setup();
    server.failRequests({
      method: 'POST',
      path: /\/refresh$/,
      status: 409,
      name: 'ConflictError',
      message:
        'Production of component:default/shop-frontend runs no deployment to refresh from',
    });
    const { ctx } = createTestActionContext({
      input: { deploymentId: copy.id },
    });

    await expect(action.handler(ctx)).rejects.toThrow(
      'Production of component:default/shop-frontend runs no deployment to refresh from',
    );
  });

  it('dry run looks the copy up and makes no mutating request', async () => {
    const { action, copy } = setup();
    const { ctx, outputs, logLines } = createTestActionContext({
      input: { deploymentId: copy.id },
      isDryRun: true,
    });

    await action.handler(ctx);

    expect(server.requests.map(r => `${r.method} ${r.path}`)).toEqual([
      `GET /deployments/${copy.id}`,
    ]);
    expect(logLines()).toEqual([
      `Dry run: would refresh deployment ${copy.id} of component:default/shop-frontend (stage test, running) from production`,
    ]);
    expect(outputs()).toMatchObject({
      operationId: DRY_RUN_ID,
      deploymentId: copy.id,
    });
  });
});
