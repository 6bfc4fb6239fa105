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
