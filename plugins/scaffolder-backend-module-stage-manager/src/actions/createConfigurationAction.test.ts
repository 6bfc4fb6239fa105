import { FakeStageManagerServer } from '../__testUtils__/FakeStageManagerServer';
import {
  createTestActionContext,
  createTestClient,
  INITIATOR,
  tokenOnBehalfOf,
} from '../__testUtils__/testContext';
import { createConfigurationCreateAction } from './createConfigurationAction';
import { DRY_RUN_ID } from './operationFields';

describe('stage-manager:configuration:create', () => {
  const server = FakeStageManagerServer.forTests();

  function setup() {
    const { auth, client } = createTestClient(server);
    return { auth, action: createConfigurationCreateAction({ client }) };
  }

  const input = {
    serviceRef: 'Component:default/shop-frontend',
    name: 'web-and-db',
    description: 'Web tier with its database',
    machines: [
      { name: 'db', template: 'tiny-linux', tier: 'db', memoryMiB: 256 },
      { name: 'web', template: 'tiny-linux', tier: 'web', startOrder: 1 },
    ],
    notes: '',
  };

  it('creates the configuration as the initiator and outputs its id and version', async () => {
    const { auth, action } = setup();
    const { ctx, outputs, logLines } = createTestActionContext({ input });

    await action.handler(ctx);

    expect(server.mutatingRequests()).toEqual([
      {
        method: 'POST',
        path: '/configurations',
        authorization: `Bearer ${tokenOnBehalfOf(INITIATOR)}`,
        // Validated like the backend does: normalized ref, defaults filled in, empty notes dropped.
        body: {
          serviceRef: 'component:default/shop-frontend',
          name: 'web-and-db',
          description: 'Web tier with its database',
          machines: [
            {
              name: 'db',
              template: 'tiny-linux',
              tier: 'db',
              startOrder: 0,
              memoryMiB: 256,
            },
            { name: 'web', template: 'tiny-linux', tier: 'web', startOrder: 1 },
          ],
        },
      },
    ]);
    expect(auth.getPluginRequestToken).toHaveBeenCalledWith({
      onBehalfOf: INITIATOR,
      targetPluginId: 'stage-manager',
    });
    const [created] = [...server.configurations.values()].filter(
      c => c.name === 'web-and-db',
    );
    expect(outputs()).toEqual({ configurationId: created.id, version: 1 });
    expect(logLines()).toEqual([
      "Creating configuration 'web-and-db' of component:default/shop-frontend with 2 machines (db: tiny-linux, web: tiny-linux)",
      `Configuration ${created.id} version 1 is ready`,
    ]);
  });

  it('does not create a second configuration when a retried task already holds the checkpoint', async () => {
    const { action } = setup();
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
    const { action } = setup();
    server.failRequests({
      method: 'POST',
      path: /^\/configurations$/,
      status: 409,
      name: 'ConflictError',
      message:
        "Service component:default/shop-frontend already has a configuration named 'web-and-db'",
    });
    const { ctx } = createTestActionContext({ input });

    await expect(action.handler(ctx)).rejects.toThrow(
      "409 ConflictError: Service component:default/shop-frontend already has a configuration named 'web-and-db'",
    );
  });

  it('rejects input the backend would reject before sending anything', async () => {
    const { action } = setup();
    const { ctx } = createTestActionContext({
      input: {
        ...input,
        machines: [
          { name: 'web', template: 'tiny-linux' },
          { name: 'web', template: 'tiny-linux' },
        ],
      },
    });

    await expect(action.handler(ctx)).rejects.toThrow(
      'Invalid input for POST /configurations: machines: machine names must be unique within a configuration',
    );
    expect(server.requests).toEqual([]);
  });

  describe('dry run', () => {
    it('checks the templates exist and makes no mutating request', async () => {
      const { action } = setup();
      const { ctx, outputs, logLines } = createTestActionContext({
        input,
        isDryRun: true,
      });

      await action.handler(ctx);

      expect(server.requests.map(r => `${r.method} ${r.path}`)).toEqual([
        'GET /templates/tiny-linux',
      ]);
      expect(ctx.checkpoint).not.toHaveBeenCalled();
      expect(outputs()).toEqual({ configurationId: DRY_RUN_ID, version: 1 });
      expect(logLines()).toEqual([
        "Dry run: would create configuration 'web-and-db' of component:default/shop-frontend with 2 machines (db: tiny-linux, web: tiny-linux); its templates exist (tiny-linux)",
      ]);
    });

    it('fails on an unknown template', async () => {
      const { action } = setup();
      const { ctx } = createTestActionContext({
        input: { ...input, machines: [{ name: 'db', template: 'postgres' }] },
        isDryRun: true,
      });

      await expect(action.handler(ctx)).rejects.toThrow(
        'GET /templates/postgres with 404 NotFoundError: Template postgres not found',
      );
      expect(server.mutatingRequests()).toEqual([]);
    });
  });
});
