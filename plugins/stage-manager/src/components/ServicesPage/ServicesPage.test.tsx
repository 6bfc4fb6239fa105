import { ResponseError } from '@backstage/errors';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import {
  Page,
  StageManagerService,
} from '@internal/plugin-stage-manager-common';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { StageManagerApi, stageManagerApiRef } from '../../api';
import { catalogEntityRouteRef } from '../../routes';
import { DEFAULT_PAGE_SIZE, ServicesPage } from './ServicesPage';

const shop: StageManagerService = {
  entityRef: 'component:default/shop',
  kind: 'component',
  namespace: 'default',
  name: 'shop',
  title: 'Shop',
  owner: 'group:default/team-a',
  system: 'commerce',
  workflow: 'default',
  stages: [
    { name: 'integration', pool: 'lab', approvers: [], requiredApprovals: 0 },
    { name: 'test', pool: 'lab-2', approvers: [], requiredApprovals: 0 },
    {
      name: 'production',
      pool: 'prod-east',
      approvers: ['group:default/release-managers'],
      requiredApprovals: 2,
    },
  ],
  problems: [],
};

const billing: StageManagerService = {
  entityRef: 'component:default/billing',
  kind: 'component',
  namespace: 'default',
  name: 'billing',
  owner: 'group:default/team-b',
  workflow: 'nightly',
  stages: [],
  problems: ['Workflow "nightly" is not defined in app-config'],
};

function page(
  items: StageManagerService[],
  totalCount = items.length,
): Page<StageManagerService> {
  return { items, totalCount };
}

function createApi(
  listServices: StageManagerApi['listServices'],
): jest.Mocked<StageManagerApi> {
  return {
    listServices: jest.fn(listServices),
  } as Partial<StageManagerApi> as jest.Mocked<StageManagerApi>;
}

function renderPage(api: StageManagerApi) {
  return renderInTestApp(<ServicesPage />, {
    apis: [[stageManagerApiRef, api]],
    mountedRoutes: { '/catalog/:namespace/:kind/:name': catalogEntityRouteRef },
  });
}

function rowOf(text: string): HTMLElement {
  const row = screen.getByText(text).closest('tr');
  if (!row) {
    throw new Error(`No table row contains ${text}`);
  }
  return row;
}

describe('ServicesPage', () => {
  it('lists services with their stages in workflow order, pools and problems', async () => {
    const api = createApi(async () => page([shop, billing]));
    renderPage(api);

    expect(await screen.findByText('Shop')).toBeInTheDocument();
    expect(api.listServices).toHaveBeenCalledWith({
      search: undefined,
      limit: DEFAULT_PAGE_SIZE,
      offset: 0,
    });
    expect(screen.getByText('Services (2)')).toBeInTheDocument();

    // Service and owner link to their catalog pages.
    expect(screen.getByRole('link', { name: 'Shop' })).toHaveAttribute(
      'href',
      '/catalog/default/component/shop',
    );
    expect(screen.getByRole('link', { name: 'team-a' })).toHaveAttribute(
      'href',
      '/catalog/default/group/team-a',
    );

    const shopRow = rowOf('Shop');
    expect(within(shopRow).getByText('default')).toBeInTheDocument();
    const stages = within(
      within(shopRow).getByRole('list', { name: 'Stages' }),
    ).getAllByRole('listitem');
    expect(stages).toHaveLength(3);
    expect(stages[0]).toHaveTextContent(/^integrationlab$/);
    expect(stages[1]).toHaveTextContent(/^testlab-2$/);
    expect(stages[2]).toHaveTextContent(/^productionprod-east2 approvals$/);
    expect(
      within(shopRow).getByLabelText(
        'Stage production on pool prod-east, requires 2 approvals from group:default/release-managers',
      ),
    ).toBeInTheDocument();

    // A service with problems shows them instead of stages.
    const billingRow = rowOf('billing');
    expect(within(billingRow).getByText('nightly')).toBeInTheDocument();
    expect(
      within(
        within(billingRow).getByRole('list', {
          name: 'Configuration problems',
        }),
      ).getByText('Workflow "nightly" is not defined in app-config'),
    ).toBeInTheDocument();
    expect(
      within(billingRow).queryByRole('list', { name: 'Stages' }),
    ).not.toBeInTheDocument();
  });

  it('searches on the server once the user stops typing', async () => {
    const api = createApi(async ({ search } = {}) =>
      page(
        search ? [shop].filter(s => s.name.includes(search)) : [shop, billing],
      ),
    );
    renderPage(api);
    expect(await screen.findByText('billing')).toBeInTheDocument();

    await userEvent.type(screen.getByLabelText('Search services'), 'shop');

    await waitFor(() =>
      expect(api.listServices).toHaveBeenLastCalledWith({
        search: 'shop',
        limit: DEFAULT_PAGE_SIZE,
        offset: 0,
      }),
    );
    await waitFor(() =>
      expect(screen.queryByText('billing')).not.toBeInTheDocument(),
    );
    expect(screen.getByText('Shop')).toBeInTheDocument();
    // Debounced: no request for the partial input.
    expect(api.listServices).not.toHaveBeenCalledWith(
      expect.objectContaining({ search: 's' }),
    );
  });

  it('says so when a search matches nothing', async () => {
    const api = createApi(async ({ search } = {}) =>
      page(search ? [] : [shop]),
    );
    renderPage(api);
    expect(await screen.findByText('Shop')).toBeInTheDocument();

    await userEvent.type(screen.getByLabelText('Search services'), 'nope');

    expect(
      await screen.findByText('No services match “nope”.'),
    ).toBeInTheDocument();
    expect(
      screen.queryByText('No services use Stage Manager yet'),
    ).not.toBeInTheDocument();
  });

  it('pages through the services on the server', async () => {
    const api = createApi(async ({ offset = 0 } = {}) =>
      page(offset === 0 ? [shop] : [billing], 45),
    );
    renderPage(api);
    expect(await screen.findByText('Shop')).toBeInTheDocument();
    expect(screen.getByText('Services (45)')).toBeInTheDocument();

    await userEvent.click(screen.getByRole('button', { name: /next page/i }));

    await waitFor(() =>
      expect(api.listServices).toHaveBeenLastCalledWith({
        search: undefined,
        limit: DEFAULT_PAGE_SIZE,
        offset: DEFAULT_PAGE_SIZE,
      }),
    );
    expect(await screen.findByText('billing')).toBeInTheDocument();
  });

  it('steps back when the page is past the end', async () => {
    let totalCount = 45;
    const api = createApi(async ({ offset = 0 } = {}) =>
      page(offset < totalCount ? [shop] : [], totalCount),
    );
    renderPage(api);
    expect(await screen.findByText('Services (45)')).toBeInTheDocument();

    totalCount = 15; // services were removed meanwhile
    await userEvent.click(screen.getByRole('button', { name: /next page/i }));

    await waitFor(() =>
      expect(api.listServices).toHaveBeenLastCalledWith({
        search: undefined,
        limit: DEFAULT_PAGE_SIZE,
        offset: 0,
      }),
    );
    expect(api.listServices).toHaveBeenCalledWith({
      search: undefined,
      limit: DEFAULT_PAGE_SIZE,
      offset: DEFAULT_PAGE_SIZE,
    });
    expect(await screen.findByText('Services (15)')).toBeInTheDocument();
    expect(screen.getByText('Shop')).toBeInTheDocument();
  });

  it('shows API errors', async () => {
    const api = createApi(async () => {
      throw new Error('Stage Manager backend is unavailable');
    });
    renderPage(api);

    expect(await screen.findByRole('alert')).toHaveTextContent(
      'Error: Stage Manager backend is unavailable',
    );
    expect(screen.queryByRole('table')).not.toBeInTheDocument();
    expect(screen.queryByTestId('progress')).not.toBeInTheDocument();
  });

  it('shows the reason the backend gave for a failed request', async () => {
    const response = {
      ok: false,
      status: 403,
      statusText: 'Forbidden',
      headers: { get: () => 'application/json; charset=utf-8' },
      text: async () =>
        JSON.stringify({
          error: {
            name: 'NotAllowedError',
            message: 'You may not read Stage Manager services',
          },
          request: { method: 'GET', url: '/api/stage-manager/services' },
          response: { statusCode: 403 },
        }),
    } as unknown as Response;
    const responseError = await ResponseError.fromResponse(response);
    const api = createApi(async () => {
      throw responseError;
    });
    renderPage(api);

    expect(await screen.findByRole('alert')).toHaveTextContent(
      'Request failed with 403 Forbidden: You may not read Stage Manager services',
    );
  });

  it('explains the annotations when no service uses Stage Manager', async () => {
    const api = createApi(async () => page([]));
    renderPage(api);

    expect(
      await screen.findByText('No services use Stage Manager yet'),
    ).toBeInTheDocument();
    expect(
      screen.getAllByText(/stage-manager\.io\/workflow/).length,
    ).toBeGreaterThan(0);
  });
});
