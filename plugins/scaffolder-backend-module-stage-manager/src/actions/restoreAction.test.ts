import { FakeStageManagerServer } from '../__testUtils__/FakeStageManagerServer';
import {
  createTestActionContext,
  createTestClient,
  INITIATOR,
  tokenOnBehalfOf,
} from '../__testUtils__/testContext';
import { DRY_RUN_ID } from './operationFields';
import { createRestoreAction } from './restoreAction';

describe('stage-manager:restore', () => {
  const server = FakeStageManagerServer.forTests();

  function setup() {
    const { client } = createTestClient(server);
    const action = createRestoreAction({ client, pollIntervalMs: 5 });
    const archive = server.addArchive({ stage: 'production', tier: 'cold' });
    return { action, archive };
  }

  it('restores into a stage as the initiator and outputs the new deployment', async () => {
    const { action, archive } = setup();
    const { ctx, outputs } = createTestActionContext({
      input: { archiveId: archive.id, stage: 'staging' },
    });

    await action.handler(ctx);

    expect(server.mutatingRequests()).toEqual([
      {
        method: 'POST',
        path: `/archives/${archive.id}/restore`,
        body: { mode: 'new', stage: 'staging' },
        authorization: `Bearer ${tokenOnBehalfOf(INITIATOR)}`,
      },
    ]);
    const operation = server.lastOperation();
    expect(operation.kind).toBe('restore');
    expect(outputs()).toEqual({
      operationId: operation.id,
      deploymentId: operation.targetDeploymentId,
      state: 'succeeded',
    });
  });

  it('restores over the deployment it came from with a comment', async () => {
    const { action, archive } = setup();
    const { ctx } = createTestActionContext({
      input: {
        archiveId: archive.id,
        mode: 'replace' as const,
        comment: 'roll back',
      },
    });

    await action.handler(ctx);

    expect(server.mutatingRequests()[0].body).toEqual({
      mode: 'replace',
      comment: 'roll back',
    });
  });

  it('rejects a bad stage before calling the backend', async () => {
    const { action, archive } = setup();
    const { ctx } = createTestActionContext({
      input: { archiveId: archive.id, stage: 'Not A Stage' },
    });

    await expect(action.handler(ctx)).rejects.toThrow(/stage/);
    expect(server.mutatingRequests()).toEqual([]);
  });

  it('surfaces a damaged archive as the backend reports it', async () => {
    const { action, archive } = setup();
    server.scriptNextOperation([
      { state: 'queued' },
      { state: 'running' },
      {
        state: 'rolled-back',
        error: `Chunk 4f2a… (archive ${archive.id}, machine web, disk root, chunk 7) is corrupt`,
      },
    ]);
    const { ctx } = createTestActionContext({
      input: { archiveId: archive.id },
    });

    await expect(action.handler(ctx)).rejects.toThrow(/chunk 7\) is corrupt/);
  });

  it('dry run looks the archive up and makes no mutating request', async () => {
    const { action, archive } = setup();
    const { ctx, outputs, logLines } = createTestActionContext({
      input: { archiveId: archive.id, stage: 'test' },
      isDryRun: true,
    });

    await action.handler(ctx);

    expect(server.requests.map(r => `${r.method} ${r.path}`)).toEqual([
      `GET /archives/${archive.id}`,
    ]);
    expect(logLines()).toEqual([
      `Dry run: would restore archive ${archive.id} of component:default/shop-frontend (stage production, tier cold, ${archive.createdAt}) as a new deployment in stage test`,
    ]);
    expect(outputs()).toMatchObject({ operationId: DRY_RUN_ID });
  });
});
