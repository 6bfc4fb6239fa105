import { ResponseError } from '@backstage/errors';
import { StageManagerClient } from './StageManagerClient';

const baseUrl = 'http://localhost:7007/api/stage-manager';

function jsonResponse(body: unknown, status = 200): Response {
  const text = JSON.stringify(body);
  return {
    ok: status >= 200 && status < 300,
    status,
    statusText: status === 200 ? 'OK' : 'Bad Request',
    headers: { get: () => 'application/json' },
    json: async () => JSON.parse(text),
    text: async () => text,
  } as unknown as Response;
}

function createClient(response: Response) {
  const fetch = jest.fn(
    async (_input: RequestInfo | URL, _init?: RequestInit) => response,
  );
  const getBaseUrl = jest.fn(async (_pluginId: string) => baseUrl);
  const client = new StageManagerClient({
    discoveryApi: { getBaseUrl },
    fetchApi: { fetch },
  });
  return { client, fetch, getBaseUrl };
}

describe('StageManagerClient', () => {
  it('lists services with search and pagination', async () => {
    const page = { items: [], totalCount: 0 };
    const { client, fetch, getBaseUrl } = createClient(jsonResponse(page));

    await expect(
      client.listServices({ search: ' shop & co ', limit: 20, offset: 40 }),
    ).resolves.toEqual(page);

    expect(getBaseUrl).toHaveBeenCalledWith('stage-manager');
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(fetch.mock.calls[0][0]).toBe(
      `${baseUrl}/services?search=shop+%26+co&limit=20&offset=40`,
    );
  });

  it('leaves out unset and blank query parameters', async () => {
    const { client, fetch } = createClient(
      jsonResponse({ items: [], totalCount: 0 }),
    );

    await client.listServices({ search: '  ' });

    expect(fetch.mock.calls[0][0]).toBe(`${baseUrl}/services`);
  });

  it('gets a service by entity ref', async () => {
    const service = { entityRef: 'component:default/shop', stages: [] };
    const { client, fetch } = createClient(jsonResponse(service));

    await expect(client.getService('component:default/shop')).resolves.toEqual(
      service,
    );
    expect(fetch.mock.calls[0][0]).toBe(
      `${baseUrl}/services/component/default/shop`,
    );
  });

  it('lists the deployments of a service', async () => {
    const { client, fetch } = createClient(
      jsonResponse({ items: [], totalCount: 0 }),
    );

    await client.listDeployments({
      serviceRef: 'component:default/shop',
      stage: 'production',
    });

    expect(fetch.mock.calls[0][0]).toBe(
      `${baseUrl}/deployments?serviceRef=component%3Adefault%2Fshop&stage=production`,
    );
  });

  it('throws a ResponseError with the backend reason on failure', async () => {
    const { client } = createClient(
      jsonResponse(
        {
          error: { name: 'InputError', message: 'Invalid query: limit' },
          response: { statusCode: 400 },
        },
        400,
      ),
    );

    const error = await client.listServices({ limit: 1000 }).catch(e => e);

    expect(error).toBeInstanceOf(ResponseError);
    expect(error.statusCode).toBe(400);
    expect(error.cause.message).toBe('Invalid query: limit');
  });

  describe('archives', () => {
    it('archives a deployment and restores an archive with their bodies', async () => {
      const { client, fetch } = createClient(jsonResponse({ id: 'op-1' }, 202));

      await client.archiveDeployment('d-1', { description: 'before' });
      await client.restoreArchive('a/1', { mode: 'new', stage: 'uat' });
      await client.moveArchive('a-1', { tier: 'cold' });
      await client.verifyArchive('a-1');

      expect(
        fetch.mock.calls.map(([url, init]) => [url, init?.method, init?.body]),
      ).toEqual([
        [
          `${baseUrl}/deployments/d-1/archive`,
          'POST',
          JSON.stringify({ description: 'before' }),
        ],
        [
          `${baseUrl}/archives/a%2F1/restore`,
          'POST',
          JSON.stringify({ mode: 'new', stage: 'uat' }),
        ],
        [
          `${baseUrl}/archives/a-1/move`,
          'POST',
          JSON.stringify({ tier: 'cold' }),
        ],
        [`${baseUrl}/archives/a-1/verify`, 'POST', '{}'],
      ]);
    });

    it('lists archives with filters, deletes one, and unwraps the tiers', async () => {
      const { client, fetch } = createClient(
        jsonResponse({ items: [{ tier: 'hot' }], totalCount: 1 }),
      );

      await client.listArchives({
        serviceRef: 'component:default/shop',
        tier: 'hot',
      });
      await client.deleteArchive('a-1');
      await expect(client.listArchiveTiers()).resolves.toEqual([
        { tier: 'hot' },
      ]);

      expect(fetch.mock.calls[0][0]).toBe(
        `${baseUrl}/archives?serviceRef=component%3Adefault%2Fshop&tier=hot`,
      );
      expect(fetch.mock.calls[1][0]).toBe(`${baseUrl}/archives/a-1`);
      expect(fetch.mock.calls[1][1]?.method).toBe('DELETE');
      expect(fetch.mock.calls[2][0]).toBe(`${baseUrl}/archive-tiers`);
    });
  });
});
