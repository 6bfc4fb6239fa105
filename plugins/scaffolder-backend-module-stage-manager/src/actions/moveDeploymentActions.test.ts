import { FakeStageManagerServer } from '../__testUtils__/FakeStageManagerServer';
import {
  createTestActionContext,
  createTestClient,
  INITIATOR,
  tokenOnBehalfOf,
} from '../__testUtils__/testContext';
import {
  createDemoteAction,
  createPromoteAction,
} from './moveDeploymentActions';

describe('stage-manager:promote and stage-manager:demote', () => {
  const server = FakeStageManagerServer.forTests();

  function setup() {
    const { client } = createTestClient(server);
    return {
      promote: createPromoteAction({ client, pollIntervalMs: 5 }),
      demote: createDemoteAction({ client, pollIntervalMs: 5 }),
      source: server.addDeployment({ stage: 'staging' }),
    };
  }

  const APPROVAL_ID = 'b1e7f1a4-52a4-4c1e-8d0e-6f1c5e3a9d20';

  it('promotes as the initiator with the comment', async () => {
    const { promote, source } = setup();
    const { ctx, outputs } = createTestActionContext({
      input: { deploymentId: source.id, comment: 'Release 2.4' },
    });

    await promote.handler(ctx);

    expect(server.mutatingRequests()).toEqual([
      {
        method: 'POST',
        path: `/deployments/${source.id}/promote`,
        body: { comment: 'Release 2.4' },
        authorization: `Bearer ${tokenOnBehalfOf(INITIATOR)}`,
      },
    ]);
    expect(outputs()).toEqual({
      operationId: server.lastOperation().id,
      deploymentId: server.lastOperation().targetDeploymentId,
      state: 'succeeded',
    });
  });

  it('demotes', async () => {
    const { demote, source } = setup();
    const { ctx, outputs } = createTestActionContext({
      input: { deploymentId: source.id },
    });

    await demote.handler(ctx);

    expect(server.mutatingRequests().map(r => `${r.method} ${r.path}`)).toEqual(
      [`POST /deployments/${source.id}/demote`],
    );
    expect(outputs()).toMatchObject({ state: 'succeeded' });
  });

  it('logs that the operation awaits approval and keeps waiting until it runs', async () => {
    const { promote, source } = setup();
    const awaiting = {
      state: 'awaiting-approval' as const,
      approvalRequestId: APPROVAL_ID,
    };
    server.scriptNextOperation([
      awaiting,
      awaiting,
      awaiting,
      { state: 'running' },
      { state: 'succeeded' },
    ]);
    const { ctx, outputs, logLines } = createTestActionContext({
      input: { deploymentId: source.id },
    });

    await promote.handler(ctx);

    const operation = server.lastOperation();
    const approvalLines = logLines().filter(l =>
      l.includes('waits for approval'),
    );
    expect(approvalLines).toEqual([
      `Operation ${operation.id} (promote) waits for approval to enter stage staging (approval request ${APPROVAL_ID}); it starts once approvers have approved it`,
    ]);
    expect(logLines()).toContain(
      `Requested promote of deployment ${source.id}: operation ${operation.id} is awaiting-approval`,
    );
    expect(server.pollsOf(operation.id)).toBe(4);
    expect(outputs()).toMatchObject({ state: 'succeeded' });
  });

  it('with wait: false ends while the operation awaits approval', async () => {
    const { promote, source } = setup();
    server.scriptNextOperation([
      { state: 'awaiting-approval', approvalRequestId: APPROVAL_ID },
    ]);
    const { ctx, outputs, logLines } = createTestActionContext({
      input: { deploymentId: source.id, wait: false },
    });

    await promote.handler(ctx);

    expect(outputs()).toEqual({
      operationId: server.lastOperation().id,
      deploymentId: server.lastOperation().targetDeploymentId,
      state: 'awaiting-approval',
    });
    expect(logLines()).toContain(
      `Operation ${
        server.lastOperation().id
      } waits for approval; not waiting for it (wait: false)`,
    );
    expect(
      server.requests.filter(r => r.path.startsWith('/operations')),
    ).toEqual([]);
  });

  it('times out while still awaiting approval', async () => {
    const { promote, source } = setup();
    server.scriptNextOperation([
      { state: 'awaiting-approval', approvalRequestId: APPROVAL_ID },
    ]);
    const { ctx } = createTestActionContext({
      input: { deploymentId: source.id, timeoutMinutes: 0.001 },
    });

    await expect(promote.handler(ctx)).rejects.toThrow(
      /which is awaiting-approval\. The operation goes on in Stage Manager/,
    );
  });

  it('fails with the reason when the approval is rejected', async () => {
    const { promote, source } = setup();
    server.scriptNextOperation([
      { state: 'awaiting-approval', approvalRequestId: APPROVAL_ID },
      {
        state: 'failed',
        error:
          'Approval request rejected by user:default/bob: not before Friday',
      },
    ]);
    const { ctx } = createTestActionContext({
      input: { deploymentId: source.id },
    });

    await expect(promote.handler(ctx)).rejects.toThrow(
      'Approval request rejected by user:default/bob: not before Friday',
    );
  });

  it('does not promote again when a retried task already holds the checkpoint', async () => {
    const { promote, source } = setup();
    const input = { deploymentId: source.id };
    const first = createTestActionContext({ input });
    await promote.handler(first.ctx);
    await promote.handler(
      createTestActionContext({ input, checkpoints: first.checkpoints }).ctx,
    );

    expect(server.mutatingRequests()).toHaveLength(1);
  });

  it('surfaces a permission error', async () => {
    const { promote, source } = setup();
    server.failRequests({
      method: 'POST',
      path: /\/promote$/,
      status: 403,
      name: 'NotAllowedError',
      message: 'user:default/ann may not deploy into stage production',
    });
    const { ctx } = createTestActionContext({
      input: { deploymentId: source.id },
    });

    await expect(promote.handler(ctx)).rejects.toThrow(
      '403 NotAllowedError: user:default/ann may not deploy into stage production',
    );
  });

  it('dry run makes no mutating request', async () => {
    const { promote, demote, source } = setup();
    const dry = createTestActionContext({
      input: { deploymentId: source.id, comment: 'Release 2.4' },
      isDryRun: true,
    });

    await promote.handler(dry.ctx);
    await demote.handler(dry.ctx);

    expect(server.mutatingRequests()).toEqual([]);
    expect(dry.logLines()).toEqual([
      `Dry run: would promote deployment ${source.id} of component:default/shop-frontend (stage staging, running) into the next stage of its workflow, waiting for approvals if that stage needs them`,
      `Dry run: would demote deployment ${source.id} of component:default/shop-frontend (stage staging, running) into the previous stage of its workflow, waiting for approvals if that stage needs them`,
    ]);
  });
});
