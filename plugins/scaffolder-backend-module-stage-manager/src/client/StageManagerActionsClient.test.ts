import { mockServices } from '@backstage/backend-test-utils';
import express from 'express';
import { Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { FakeStageManagerServer } from '../__testUtils__/FakeStageManagerServer';
import {
  createTestClient,
  INITIATOR,
  tokenOnBehalfOf,
} from '../__testUtils__/testContext';
import { StageManagerActionsClient } from './StageManagerActionsClient';
import { StageManagerRequestError } from './StageManagerRequestError';

describe('StageManagerActionsClient', () => {
  const server = FakeStageManagerServer.forTests();

  it('finds the backend through discovery and sends JSON with the token on behalf of the caller', async () => {
    const { client, discovery, auth } = createTestClient(server);
    const deployment = server.addDeployment();

    const operation = await client.move(
      'promote',
      deployment.id,
      { comment: 'go' },
      { credentials: INITIATOR },
    );

    expect(discovery.getBaseUrl).toHaveBeenCalledWith('stage-manager');
    expect(auth.getPluginRequestToken).toHaveBeenCalledWith({
      onBehalfOf: INITIATOR,
      targetPluginId: 'stage-manager',
    });
    expect(server.requests).toEqual([
      {
        method: 'POST',
        path: `/deployments/${deployment.id}/promote`,
        body: { comment: 'go' },
        authorization: `Bearer ${tokenOnBehalfOf(INITIATOR)}`,
      },
    ]);
    expect(operation).toMatchObject({
      kind: 'promote',
      deploymentId: deployment.id,
    });
  });

  it('archives a deployment: POST /deployments/:id/archive answers the operation naming the archive', async () => {
    const { client } = createTestClient(server);
    const deployment = server.addDeployment();

    const operation = await client.archive(
      deployment.id,
      { description: 'before the migration' },
      { credentials: INITIATOR },
    );

    expect(server.requests).toEqual([
      {
        method: 'POST',
        path: `/deployments/${deployment.id}/archive`,
        body: { description: 'before the migration' },
        authorization: `Bearer ${tokenOnBehalfOf(INITIATOR)}`,
      },
    ]);
    expect(operation).toMatchObject({
      id: server.lastOperation().id,
      kind: 'archive',
      deploymentId: deployment.id,
      params: { archiveId: expect.any(String) },
    });
    expect(
      server.archives.get(operation.params.archiveId as string),
    ).toMatchObject({
      sourceDeploymentId: deployment.id,
      description: 'before the migration',
    });
  });

  it('reads an archive: GET /archives/:id', async () => {
    const { client } = createTestClient(server);
    const archive = server.addArchive({ tier: 'cold', stage: 'production' });

    const read = await client.getArchive(archive.id, {
      credentials: INITIATOR,
    });

    expect(read).toEqual(archive);
    expect(server.requests).toEqual([
      {
        method: 'GET',
        path: `/archives/${archive.id}`,
        body: undefined,
        authorization: `Bearer ${tokenOnBehalfOf(INITIATOR)}`,
      },
    ]);
  });

  it('fails for an unknown archive with the backend’s 404', async () => {
    const { client } = createTestClient(server);

    await expect(
      client.getArchive('7d1e0b6c-2f4a-4c3e-9a8b-5e6f7a8b9c0d', {
        credentials: INITIATOR,
      }),
    ).rejects.toMatchObject({
      name: 'StageManagerRequestError',
      statusCode: 404,
      errorName: 'NotFoundError',
      message:
        "Stage Manager answered GET /archives/7d1e0b6c-2f4a-4c3e-9a8b-5e6f7a8b9c0d with 404 NotFoundError: No archive '7d1e0b6c-2f4a-4c3e-9a8b-5e6f7a8b9c0d'",
    });
  });

  it('restores an archive: POST /archives/:id/restore answers the restore operation', async () => {
    const { client } = createTestClient(server);
    const archive = server.addArchive();

    const operation = await client.restore(
      archive.id,
      { mode: 'new', stage: 'staging', comment: 'investigate' },
      { credentials: INITIATOR },
    );

    expect(server.requests).toEqual([
      {
        method: 'POST',
        path: `/archives/${archive.id}/restore`,
        body: { mode: 'new', stage: 'staging', comment: 'investigate' },
        authorization: `Bearer ${tokenOnBehalfOf(INITIATOR)}`,
      },
    ]);
    expect(operation).toMatchObject({
      id: server.lastOperation().id,
      kind: 'restore',
      targetStage: 'staging',
      targetDeploymentId: expect.any(String),
    });
  });

  it('escapes ids in paths', async () => {
    const { client } = createTestClient(server);

    await client
      .restore('a/b?c', { mode: 'new' }, { credentials: INITIATOR })
      .catch(() => undefined);

    expect(server.requests.map(r => r.path)).toEqual([
      '/archives/a%2Fb%3Fc/restore',
    ]);
  });

  it('throws an error that carries the backend’s error', async () => {
    const { client } = createTestClient(server);
    server.failRequests({
      method: 'GET',
      path: /^\/operations\//,
      status: 403,
      name: 'NotAllowedError',
      message: 'You may not see operations of component:default/payments',
    });

    const error = await client
      .getOperation('c0c3b2a1-9f1e-4a8b-8c7d-6e5f4a3b2c1d', {
        credentials: INITIATOR,
      })
      .catch(e => e);

    expect(error).toBeInstanceOf(StageManagerRequestError);
    expect(error).toMatchObject({
      statusCode: 403,
      errorName: 'NotAllowedError',
      errorMessage: 'You may not see operations of component:default/payments',
      message:
        'Stage Manager answered GET /operations/c0c3b2a1-9f1e-4a8b-8c7d-6e5f4a3b2c1d with 403 NotAllowedError: You may not see operations of component:default/payments',
    });
  });

  it('copes with error responses that are not JSON', async () => {
    const app = express();
    app.use((_req, res) => {
      res.status(502).type('text/plain').send('Bad gateway from the proxy');
    });
    const plain = await new Promise<Server>(resolve => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const { port } = plain.address() as AddressInfo;
      const client = new StageManagerActionsClient({
        auth: mockServices.auth.mock({
          getPluginRequestToken: async () => ({ token: 't' }),
        }),
        discovery: mockServices.discovery.mock({
          getBaseUrl: async () => `http://127.0.0.1:${port}/api/stage-manager`,
        }),
      });

      await expect(
        client.getDeployment('x', { credentials: INITIATOR }),
      ).rejects.toThrow(
        /^Stage Manager answered GET \/deployments\/x with 502 .*Bad gateway from the proxy/,
      );
    } finally {
      await new Promise(resolve => plain.close(resolve));
    }
  });
});
