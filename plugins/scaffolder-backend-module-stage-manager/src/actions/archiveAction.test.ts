import { FakeStageManagerServer } from '../__testUtils__/FakeStageManagerServer';
import {
  createTestActionContext,
  createTestClient,
  INITIATOR,
  tokenOnBehalfOf,
} from '../__testUtils__/testContext';
import { createArchiveAction } from './archiveAction';
import { DRY_RUN_ID } from './operationFields';

describe('stage-manager:archive', () => {
  const server = FakeStageManagerServer.forTests();

  function setup() {
    const { client } = createTestClient(server);
    const action = createArchiveAction({ client, pollIntervalMs: 5 });
    const source = server.addDeployment({ stage: 'staging' });
    return { action, source };
  }

  it('archives as the initiator, waits, and outputs the archive with its sizes', async () => {
    const { action, source } = setup();
    const { ctx, outputs } = createTestActionContext({
      input: { deploymentId: source.id, description: 'before the patch' },
    });

    await action.handler(ctx);

    expect(server.mutatingRequests()).toEqual([
      {
        method: 'POST',
        path: `/deployments/${source.id}/archive`,
        body: { description: 'before the patch' },
        authorization: `Bearer ${tokenOnBehalfOf(INITIATOR)}`,
      },
    ]);
    const operation = server.lastOperation();
    const archiveId = operation.params.archiveId as string;
    const archive = server.archives.get(archiveId)!;
    expect(archive.sourceDeploymentId).toBe(source.id);
    expect(outputs()).toEqual({
      operationId: operation.id,
      archiveId,
      state: 'succeeded',
      tier: 'hot',
      dataBytes: archive.dataBytes,
      addedBytes: archive.addedBytes,
    });
  });

  it('with wait: false ends once the archive is requested, without its sizes', async () => {
    const { action, source } = setup();
    const { ctx, outputs } = createTestActionContext({
      input: { deploymentId: source.id, wait: false },
    });

    await action.handler(ctx);

    const operation = server.lastOperation();
    expect(outputs()).toEqual({
      operationId: operation.id,
      archiveId: operation.params.archiveId,
      state: 'queued',
    });
    expect(server.requests.some(r => r.path.startsWith('/archives/'))).toBe(
      false,
    );
  });

  it('never archives twice when a retried task already holds the checkpoint', async () => {
    const { action, source } = setup();
    const input = { deploymentId: source.id };
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
    const { action, source } = setup();
    server.failRequests({
      method: 'POST',
      path: /\/archive$/,
      status: 409,
      name: 'ConflictError',
      message: `Deployment ${source.id} is provisioning: only running or stopped deployments can be archived`,
    });
    const { ctx } = createTestActionContext({
      input: { deploymentId: source.id },
    });

    await expect(action.handler(ctx)).rejects.toThrow(
      'only running or stopped deployments can be archived',
    );
  });

  it('dry run looks the deployment up and makes no mutating request', async () => {
    const { action, source } = setup();
    const { ctx, outputs, logLines } = createTestActionContext({
      input: { deploymentId: source.id },
      isDryRun: true,
    });

    await action.handler(ctx);

    expect(server.requests.map(r => `${r.method} ${r.path}`)).toEqual([
      `GET /deployments/${source.id}`,
    ]);
    expect(logLines()).toEqual([
      `Dry run: would archive deployment ${source.id} of component:default/shop-frontend (stage staging, running)`,
    ]);
    expect(outputs()).toMatchObject({
      operationId: DRY_RUN_ID,
      archiveId: DRY_RUN_ID,
    });
  });
});
