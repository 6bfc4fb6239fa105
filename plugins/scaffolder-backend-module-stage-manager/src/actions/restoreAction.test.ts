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

  it('sends no comment when the template leaves it empty', async () => {
    const { action, archive } = setup();
    const { ctx } = createTestActionContext({
      input: { archiveId: archive.id, comment: '', wait: false },
    });

    await action.handler(ctx);

    expect(server.mutatingRequests()[0].body).toEqual({ mode: 'new' });
  });

  it('with wait: false ends while the restore awaits approval, naming the deployment it will create', async () => {
    const { action, archive } = setup();
    server.scriptNextOperation([
      {
        state: 'awaiting-approval',
        approvalRequestId: 'b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e',
      },
    ]);
    const { ctx, outputs, logLines } = createTestActionContext({
      input: { archiveId: archive.id, stage: 'production', wait: false },
    });

    await action.handler(ctx);

    const operation = server.lastOperation();
    expect(outputs()).toEqual({
      operationId: operation.id,
      deploymentId: operation.targetDeploymentId,
      state: 'awaiting-approval',
    });
    expect(logLines()).toEqual([
      `Requested restore of archive ${archive.id} as a new deployment in stage production: operation ${operation.id} is awaiting-approval`,
      `Operation ${operation.id} waits for approval; not waiting for it (wait: false)`,
    ]);
    expect(server.pollsOf(operation.id)).toBe(0);
  });

  it('never restores twice when a retried task already holds the checkpoint', async () => {
    const { action, archive } = setup();
    const input = { archiveId: archive.id, stage: 'staging' };
    const first = createTestActionContext({ input });
    await action.handler(first.ctx);
    const retry = createTestActionContext({
      input,
      checkpoints: first.checkpoints,
    });
    await action.handler(retry.ctx);

    expect(server.mutatingRequests()).toHaveLength(1);
    expect(retry.outputs()).toEqual(first.outputs());
    expect(retry.logLines()[0]).toBe(
      `Already requested restore of archive ${
        archive.id
      } as a new deployment in stage staging in an earlier attempt of this task: operation ${
        first.outputs().operationId
      }`,
    );
    // The retry waited for the recorded operation again.
    expect(server.pollsOf(first.outputs().operationId)).toBeGreaterThan(3);
  });

  it('restores again for a different target within the same step', async () => {
    const { action, archive } = setup();
    const checkpoints = createTestActionContext({ input: {} }).checkpoints;
    for (const stage of ['staging', 'test']) {
      const { ctx } = createTestActionContext({
        input: { archiveId: archive.id, stage },
        checkpoints,
      });
      await action.handler(ctx);
    }

    expect(server.mutatingRequests().map(r => r.body)).toEqual([
      { mode: 'new', stage: 'staging' },
      { mode: 'new', stage: 'test' },
    ]);
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

    expect(server.requests).toEqual([
      {
        method: 'GET',
        path: `/archives/${archive.id}`,
        body: undefined,
        authorization: `Bearer ${tokenOnBehalfOf(INITIATOR)}`,
      },
    ]);
    expect(logLines()).toEqual([
      `Dry run: would restore archive ${archive.id} of component:default/shop-frontend (stage production, tier cold, ${archive.createdAt}) as a new deployment in stage test`,
    ]);
    expect(outputs()).toEqual({
      operationId: DRY_RUN_ID,
      deploymentId: DRY_RUN_ID,
      state: 'queued',
    });
  });

  it('dry run does not look up the placeholder archive of an earlier dry-run step', async () => {
    const { action } = setup();
    const { ctx, logLines } = createTestActionContext({
      input: { archiveId: DRY_RUN_ID, mode: 'replace' as const },
      isDryRun: true,
    });

    await action.handler(ctx);

    expect(server.requests).toEqual([]);
    expect(logLines()).toEqual([
      `Dry run: would restore archive ${DRY_RUN_ID} over the deployment it came from`,
    ]);
  });

  it('dry run fails for an archive that does not exist', async () => {
    const { action } = setup();
    const { ctx } = createTestActionContext({
      input: { archiveId: '7d1e0b6c-2f4a-4c3e-9a8b-5e6f7a8b9c0d' },
      isDryRun: true,
    });

    await expect(action.handler(ctx)).rejects.toThrow(
      "404 NotFoundError: No archive '7d1e0b6c-2f4a-4c3e-9a8b-5e6f7a8b9c0d'",
    );
    expect(server.mutatingRequests()).toEqual([]);
  });
});
