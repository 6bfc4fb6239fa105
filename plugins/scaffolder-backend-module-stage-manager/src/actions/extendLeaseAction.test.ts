import { FakeStageManagerServer } from '../__testUtils__/FakeStageManagerServer';
import {
  createTestActionContext,
  createTestClient,
  INITIATOR,
  tokenOnBehalfOf,
} from '../__testUtils__/testContext';
import { createExtendLeaseAction } from './extendLeaseAction';

describe('stage-manager:lease:extend', () => {
  const server = FakeStageManagerServer.forTests();

  function setup() {
    const { client } = createTestClient(server);
    return {
      action: createExtendLeaseAction({ client }),
      deployment: server.addDeployment({ stage: 'test' }),
    };
  }

  it('extends the lease as the initiator and outputs the new expiry times', async () => {
    const { action, deployment } = setup();
    const { ctx, outputs } = createTestActionContext({
      input: { deploymentId: deployment.id, extendBy: 'P3D' },
    });

    await action.handler(ctx);

    expect(server.mutatingRequests()).toEqual([
      {
        method: 'POST',
        path: `/deployments/${deployment.id}/lease`,
        body: { extendBy: 'P3D' },
        authorization: `Bearer ${tokenOnBehalfOf(INITIATOR)}`,
      },
    ]);
    expect(outputs()).toEqual({
      runtimeExpiresAt: '2030-01-13T12:00:00.000Z',
      storageExpiresAt: '2030-01-20T12:00:00.000Z',
    });
  });

  it('does not extend twice when a retried task already holds the checkpoint', async () => {
    const { action, deployment } = setup();
    const input = { deploymentId: deployment.id, extendBy: 'PT12H' };
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

  it('rejects a duration that is not ISO 8601', async () => {
    const { action, deployment } = setup();
    const { ctx } = createTestActionContext({
      input: { deploymentId: deployment.id, extendBy: '3 days' },
    });

    await expect(action.handler(ctx)).rejects.toThrow(
      'extendBy: must be an ISO 8601 duration such as P3D or PT12H',
    );
    expect(server.requests).toEqual([]);
  });

  it('surfaces the backend’s error message', async () => {
    const { action, deployment } = setup();
    server.failRequests({
      method: 'POST',
      path: /\/lease$/,
      status: 409,
      name: 'ConflictError',
      message: 'The lease cannot go beyond 2030-03-01T00:00:00.000Z',
    });
    const { ctx } = createTestActionContext({
      input: { deploymentId: deployment.id, extendBy: 'P90D' },
    });

    await expect(action.handler(ctx)).rejects.toThrow(
      'The lease cannot go beyond 2030-03-01T00:00:00.000Z',
    );
  });

  it('dry run reads the lease and changes nothing', async () => {
    const { action, deployment } = setup();
    const { ctx, outputs, logLines } = createTestActionContext({
      input: { deploymentId: deployment.id, extendBy: 'P3D' },
      isDryRun: true,
    });

    await action.handler(ctx);

    expect(server.requests.map(r => `${r.method} ${r.path}`)).toEqual([
      `GET /deployments/${deployment.id}/lease`,
    ]);
    expect(outputs()).toEqual({});
    expect(logLines()).toEqual([
      `Dry run: would extend the lease of deployment ${deployment.id} by P3D; it now runs until 2030-01-10T12:00:00.000Z, keeps storage until 2030-01-17T12:00:00.000Z and cannot go beyond 2030-03-01T00:00:00.000Z`,
    ]);
  });
});
