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
    // Polls and the read of the archive act as the initiator too.
    expect(server.requests.map(r => `${r.method} ${r.path}`)).toContain(
      `GET /archives/${archiveId}`,
    );
    expect(new Set(server.requests.map(r => r.authorization))).toEqual(
      new Set([`Bearer ${tokenOnBehalfOf(INITIATOR)}`]),
    );
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
    // The retry waited for the recorded operation again and read the same archive.
    expect(server.pollsOf(first.outputs().operationId)).toBeGreaterThan(3);
    expect(
      server.requests.filter(
        r => r.path === `/archives/${first.outputs().archiveId}`,
      ),
    ).toHaveLength(2);
  });

  it('sends no description when the template leaves it empty', async () => {
    const { action, source } = setup();
    const { ctx } = createTestActionContext({
      input: { deploymentId: source.id, description: '  ', wait: false },
    });

    await action.handler(ctx);

    expect(server.mutatingRequests()[0].body).toBeUndefined();
  });

  it('fails with the operation’s error when the archive is rolled back, without reading the archive', async () => {
    const { action, source } = setup();
    server.scriptNextOperation([
      { state: 'queued' },
      { state: 'running' },
      {
        state: 'rolled-back',
        error: 'Tier hot is full: 12 GiB free, the archive needs at least 20',
      },
    ]);
    const { ctx, outputs } = createTestActionContext({
      input: { deploymentId: source.id },
    });

    await expect(action.handler(ctx)).rejects.toThrow(
      /archive operation .* rolled-back: Tier hot is full/,
    );
    expect(outputs()).toEqual({});
    expect(server.requests.some(r => r.path.startsWith('/archives/'))).toBe(
      false,
    );
  });

  it('fails after the archive is made when the archive cannot be read, having output its id', async () => {
    const { action, source } = setup();
    server.failRequests({
      method: 'GET',
      path: /^\/archives\//,
      status: 403,
      name: 'NotAllowedError',
      message: 'You may not read archives of component:default/shop-frontend',
    });
    const { ctx, outputs } = createTestActionContext({
      input: { deploymentId: source.id },
    });

    await expect(action.handler(ctx)).rejects.toThrow(
      /403 NotAllowedError: You may not read archives/,
    );
    const operation = server.lastOperation();
    expect(outputs()).toEqual({
      operationId: operation.id,
      archiveId: operation.params.archiveId,
      state: 'succeeded',
    });
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
    expect(outputs()).toEqual({
      operationId: DRY_RUN_ID,
      archiveId: DRY_RUN_ID,
      state: 'queued',
    });
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
    expect(server.mutatingRequests()).toEqual([]);
  });
});
