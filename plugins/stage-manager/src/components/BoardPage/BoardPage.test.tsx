import { ResponseError } from '@backstage/errors';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import {
  BoardCell,
  BoardRow,
  Page,
  StageManagerService,
} from '@internal/plugin-stage-manager-common';
import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { DateTime } from 'luxon';
import { useLocation } from 'react-router-dom';
import { StageManagerApi, stageManagerApiRef } from '../../api';
import { catalogEntityRouteRef, rootRouteRef } from '../../routes';
import { BoardPage, DEFAULT_PAGE_SIZE, REFRESH_INTERVAL_MS } from './BoardPage';

// Rendering pages is slow on a busy 2-core CI machine (guests boot in parallel).
jest.setTimeout(30_000);

function service(
  name: string,
  extra: Partial<StageManagerService> = {},
): StageManagerService {
  return {
    entityRef: `component:default/${name}`,
    kind: 'component',
    namespace: 'default',
    name,
    workflow: 'default',
    stages: [],
    problems: [],
    ...extra,
  };
}

function cell(stage: string, extra: Partial<BoardCell> = {}): BoardCell {
  return {
    stage,
    pool: 'lab',
    requiredApprovals: 0,
    copies: [],
    retired: 0,
    pendingApprovals: 0,
    ...extra,
  };
}

function inFromNow(duration: object) {
  return DateTime.now().plus(duration).toISO()!;
}

function shopRow(): BoardRow {
  return {
    service: service('shop', {
      title: 'Shop',
      owner: 'group:default/shop-team',
      system: 'commerce',
    }),
    cells: [
      cell('production', {
        requiredApprovals: 1,
        pendingApprovals: 1,
        primary: {
          id: 'd-prod',
          configurationId: 'c-1',
          configurationName: 'shop-stack',
          configurationVersion: 2,
          state: 'running',
          role: 'primary',
          machineCount: 3,
          leaseExpiresAt: inFromNow({ hours: 5, minutes: 10, seconds: 30 }),
        },
      }),
      cell('integration', {
        primary: {
          id: 'd-int',
          configurationId: 'c-1',
          configurationName: 'shop-stack',
          configurationVersion: 3,
          state: 'running',
          role: 'primary',
          machineCount: 2,
          leaseExpiresAt: inFromNow({ days: 2, hours: 4, minutes: 30 }),
        },
        copies: [
          {
            id: 'd-copy-1',
            configurationId: 'c-1',
            configurationVersion: 3,
            state: 'stopped',
            role: 'copy',
            machineCount: 2,
          },
          {
            id: 'd-copy-2',
            configurationId: 'c-1',
            configurationVersion: 3,
            state: 'running',
            role: 'copy',
            machineCount: 2,
          },
        ],
        retired: 1,
      }),
      cell('test', {
        primary: {
          id: 'd-test',
          configurationId: 'c-1',
          configurationName: 'shop-stack',
          configurationVersion: 2,
          state: 'provisioning',
          role: 'primary',
          machineCount: 2,
          activeOperation: {
            id: 'op-1',
            kind: 'promote',
            state: 'awaiting-approval',
          },
        },
      }),
    ],
  };
}

function billingRow(): BoardRow {
  return {
    service: service('billing', {
      owner: 'group:default/finance',
      workflow: 'custom',
      problems: ['Pool "gpu" of stage perf is not defined'],
    }),
    cells: [
      cell('integration', {
        primary: {
          id: 'd-b-int',
          configurationId: 'c-2',
          configurationName: 'billing-db',
          configurationVersion: 7,
          state: 'failed',
          role: 'primary',
          machineCount: 1,
        },
      }),
      cell('perf'),
      cell('production'),
    ],
  };
}

function page(items: BoardRow[], totalCount = items.length): Page<BoardRow> {
  return { items, totalCount };
}

function createApi(
  getBoard: StageManagerApi['getBoard'],
): jest.Mocked<StageManagerApi> {
  return {
    getBoard: jest.fn(getBoard),
  } as Partial<StageManagerApi> as jest.Mocked<StageManagerApi>;
}

/** Shows the current URL query so the tests can check what the filters wrote to it. */
function CurrentQuery() {
  return <output aria-label="query">{useLocation().search}</output>;
}

function renderBoard(api: StageManagerApi, url = '/stage-manager') {
  return renderInTestApp(
    <>
      <BoardPage />
      <CurrentQuery />
    </>,
    {
      apis: [[stageManagerApiRef, api]],
      mountedRoutes: {
        '/stage-manager': rootRouteRef,
        '/catalog/:namespace/:kind/:name': catalogEntityRouteRef,
      },
      initialRouteEntries: [url],
    },
  );
}

function query(): URLSearchParams {
  return new URLSearchParams(screen.getByLabelText('query').textContent ?? '');
}

function stageHeaders(): string[] {
  const table = screen.getByRole('table', { name: 'Overview board' });
  return within(table)
    .getAllByRole('columnheader')
    .map(header => header.textContent ?? '');
}

/** The cells of a service's row by stage column. */
function cellsOf(serviceName: string): Record<string, HTMLElement> {
  const row = screen
    .getAllByRole('row')
    .find(r => within(r).queryByRole('link', { name: serviceName }));
  if (!row) {
    throw new Error(`No row for ${serviceName}`);
  }
  const stages = stageHeaders().slice(1);
  // The service is the row's header cell; the stages follow it.
  const cells = within(row)
    .getAllByRole('cell')
    .filter(c => c.tagName === 'TD');
  return Object.fromEntries(stages.map((stage, i) => [stage, cells[i]]));
}

const allParams = (extra: object = {}) => ({
  search: undefined,
  owner: undefined,
  system: undefined,
  limit: DEFAULT_PAGE_SIZE,
  offset: 0,
  ...extra,
});

describe('BoardPage', () => {
  it('shows every service with one cell per stage', async () => {
    const api = createApi(async () => page([shopRow(), billingRow()], 2));
    renderBoard(api);

    expect(await screen.findByText('Services (2)')).toBeInTheDocument();
    expect(api.getBoard).toHaveBeenCalledWith(allParams());

    // The union of the stages: typical ones in promotion order, then the others.
    expect(stageHeaders()).toEqual([
      'Service',
      'integration',
      'test',
      'production',
      'perf',
    ]);

    // The service links to its page and shows owner, system and problems.
    expect(screen.getByRole('link', { name: 'Shop' })).toHaveAttribute(
      'href',
      '/stage-manager/services/component/default/shop',
    );
    expect(
      screen.getByText('group:default/shop-team · commerce'),
    ).toBeInTheDocument();
    expect(
      screen.getByLabelText(
        'Problems: Pool "gpu" of stage perf is not defined',
      ),
    ).toBeInTheDocument();
    expect(screen.queryByText(/differs from production/i)).toBeNull();

    const shop = cellsOf('Shop');
    const integration = within(shop.integration);
    expect(integration.getByText('shop-stack v3')).toBeInTheDocument();
    expect(
      integration.getByText('running').closest('[data-tone]'),
    ).toHaveAttribute('data-tone', 'success');
    expect(integration.getByText('2 machines')).toBeInTheDocument();
    expect(integration.getByText('2d 4h left')).toHaveAttribute(
      'data-urgent',
      'false',
    );
    expect(integration.getByText('+2 copies')).toBeInTheDocument();
    expect(integration.getByText('1 retired')).toBeInTheDocument();
    // Clicking a cell with a deployment goes to the service page.
    expect(integration.getByRole('link')).toHaveAttribute(
      'href',
      '/stage-manager/services/component/default/shop',
    );

    const test = within(shop.test);
    expect(
      test.getByText('provisioning').closest('[data-tone]'),
    ).toHaveAttribute('data-tone', 'info');
    expect(test.getByText('promote · awaiting-approval')).toBeInTheDocument();
    expect(test.queryByText(/left$/)).toBeNull();

    const production = within(shop.production);
    expect(production.getByText('shop-stack v2')).toBeInTheDocument();
    expect(production.getByText('3 machines')).toBeInTheDocument();
    expect(production.getByText('1 approval pending')).toBeInTheDocument();
    expect(production.getByText('5h 10m left')).toHaveAttribute(
      'data-urgent',
      'true',
    );

    // A stage the service does not have is an empty, dimmed cell.
    expect(
      within(shop.perf).getByRole('img', { name: 'No perf stage' }),
    ).toBeInTheDocument();

    const billing = cellsOf('billing');
    expect(
      within(billing.integration).getByText('failed').closest('[data-tone]'),
    ).toHaveAttribute('data-tone', 'error');
    expect(
      within(billing.integration).getByText('1 machine'),
    ).toBeInTheDocument();
    expect(
      within(billing.test).getByRole('img', { name: 'No test stage' }),
    ).toBeInTheDocument();
    // Stages the service has but that run nothing show a dash and do not link.
    expect(within(billing.production).getByText('—')).toBeInTheDocument();
    expect(within(billing.production).queryByRole('link')).toBeNull();
    expect(within(billing.perf).getByText('—')).toBeInTheDocument();
  });

  it('shows how each deployment matches production', async () => {
    const row = shopRow();
    const integration = row.cells.find(c => c.stage === 'integration')!;
    integration.primary!.drift = {
      score: 97.2,
      scannedAt: inFromNow({ minutes: -5 }),
      drifted: ['hypervisor', 'disks'],
    };
    integration.copies[1].drift = {
      score: 100,
      scannedAt: inFromNow({ minutes: -5 }),
      drifted: [],
    };
    const api = createApi(async () => page([row], 1));
    renderBoard(api);
    expect(await screen.findByText('Services (1)')).toBeInTheDocument();
    const shown = within(cellsOf('Shop').integration);
    const primary = shown.getByLabelText('Drift of d-int');
    expect(primary).toHaveTextContent(
      'matches production 97.2 % (hypervisor, disks)',
    );
    expect(shown.getByLabelText('Drift of d-copy-2')).toHaveTextContent(
      'copy d-copy-2 matches production 100 %',
    );
    // A copy never scanned shows nothing.
    expect(shown.queryByLabelText('Drift of d-copy-1')).toBeNull();
  });

  it('hides the stage columns not selected in the stage filter and keeps them in the URL', async () => {
    const api = createApi(async () => page([shopRow(), billingRow()]));
    renderBoard(api);
    expect(await screen.findByText('Services (2)')).toBeInTheDocument();

    await userEvent.click(screen.getByRole('button', { name: /stages/i }));
    const listbox = await screen.findByRole('listbox');
    await userEvent.click(
      within(listbox).getByRole('option', { name: 'production' }),
    );
    await userEvent.click(
      within(listbox).getByRole('option', { name: 'integration' }),
    );
    await userEvent.keyboard('{Escape}');
    await waitFor(() => expect(screen.queryByRole('listbox')).toBeNull());

    await waitFor(() =>
      expect(stageHeaders()).toEqual(['Service', 'integration', 'production']),
    );
    expect(query().get('stages')).toBe('integration,production');
    expect(
      within(cellsOf('Shop').production).getByText('1 approval pending'),
    ).toBeInTheDocument();
    // Client-side: no new request for a stage filter.
    expect(api.getBoard).toHaveBeenCalledTimes(1);
  });

  it('reads the filters from the URL', async () => {
    const api = createApi(async () => page([shopRow()]));
    renderBoard(
      api,
      '/stage-manager?search=sh&owner=group%3Adefault%2Fshop-team&system=commerce&stages=test',
    );

    expect(await screen.findByText('Services (1)')).toBeInTheDocument();
    expect(api.getBoard).toHaveBeenCalledWith(
      allParams({
        search: 'sh',
        owner: 'group:default/shop-team',
        system: 'commerce',
      }),
    );
    expect(stageHeaders()).toEqual(['Service', 'test']);
    expect(screen.getByLabelText('Search services')).toHaveValue('sh');
    expect(screen.getByLabelText('Owner')).toHaveValue(
      'group:default/shop-team',
    );
    expect(screen.getByLabelText('System')).toHaveValue('commerce');
  });

  it('sends search, owner and system to the server once typing pauses, and writes them to the URL', async () => {
    const api = createApi(async ({ search } = {}) =>
      page(search ? [shopRow()] : [shopRow(), billingRow()]),
    );
    renderBoard(api);
    expect(await screen.findByText('Services (2)')).toBeInTheDocument();

    await userEvent.type(screen.getByLabelText('Search services'), 'shop');
    await userEvent.type(
      screen.getByLabelText('Owner'),
      'group:default/shop-team',
    );
    await userEvent.type(screen.getByLabelText('System'), 'commerce');

    await waitFor(() =>
      expect(api.getBoard).toHaveBeenLastCalledWith(
        allParams({
          search: 'shop',
          owner: 'group:default/shop-team',
          system: 'commerce',
        }),
      ),
    );
    expect(await screen.findByText('Services (1)')).toBeInTheDocument();
    expect(query().get('search')).toBe('shop');
    expect(query().get('owner')).toBe('group:default/shop-team');
    expect(query().get('system')).toBe('commerce');
    // Debounced: no request for partial input.
    expect(api.getBoard).not.toHaveBeenCalledWith(
      expect.objectContaining({ search: 's' }),
    );
    expect(api.getBoard).not.toHaveBeenCalledWith(
      expect.objectContaining({ owner: 'g' }),
    );
  });

  it('pages on the server and keeps the current page while the next loads', async () => {
    let releaseSecondPage: () => void = () => {};
    const api = createApi(({ offset = 0 } = {}) => {
      if (offset === 0) {
        return Promise.resolve(page([shopRow()], 45));
      }
      return new Promise(resolve => {
        releaseSecondPage = () => resolve(page([billingRow()], 45));
      });
    });
    renderBoard(api);
    expect(await screen.findByText('Services (45)')).toBeInTheDocument();
    expect(screen.getByText(/1-20 of 45/)).toBeInTheDocument();

    await userEvent.click(screen.getByRole('button', { name: /next page/i }));

    await waitFor(() =>
      expect(api.getBoard).toHaveBeenLastCalledWith(
        allParams({ offset: DEFAULT_PAGE_SIZE }),
      ),
    );
    // The previous page stays while the next one loads.
    expect(screen.getByRole('link', { name: 'Shop' })).toBeInTheDocument();
    expect(
      screen.getByRole('table', { name: 'Overview board' }),
    ).toHaveAttribute('aria-busy', 'true');

    act(() => releaseSecondPage());
    expect(
      await screen.findByRole('link', { name: 'billing' }),
    ).toBeInTheDocument();
    expect(screen.queryByRole('link', { name: 'Shop' })).toBeNull();
    expect(screen.getByText(/21-40 of 45/)).toBeInTheDocument();

    // A bigger page size starts again at the first page.
    await userEvent.click(
      screen.getByRole('button', { name: /rows per page/i }),
    );
    await userEvent.click(await screen.findByRole('option', { name: '50' }));
    await waitFor(() =>
      expect(api.getBoard).toHaveBeenLastCalledWith(
        allParams({ limit: 50, offset: 0 }),
      ),
    );
  });

  it('refreshes the board every few seconds while the tab is visible', async () => {
    jest.useFakeTimers();
    try {
      let state: 'provisioning' | 'running' = 'provisioning';
      const api = createApi(async () => {
        const row = shopRow();
        row.cells[2].primary!.state = state;
        return page([row]);
      });
      renderBoard(api);
      expect(await screen.findByText('provisioning')).toBeInTheDocument();
      const calls = api.getBoard.mock.calls.length;

      state = 'running';
      await act(async () => {
        jest.advanceTimersByTime(REFRESH_INTERVAL_MS);
      });
      await waitFor(() =>
        expect(screen.queryByText('provisioning')).toBeNull(),
      );
      expect(api.getBoard.mock.calls.length).toBe(calls + 1);

      // Hidden tabs do not poll.
      const visibility = jest
        .spyOn(document, 'visibilityState', 'get')
        .mockReturnValue('hidden');
      await act(async () => {
        jest.advanceTimersByTime(3 * REFRESH_INTERVAL_MS);
      });
      expect(api.getBoard.mock.calls.length).toBe(calls + 1);
      visibility.mockRestore();
    } finally {
      jest.useRealTimers();
    }
  });

  it('shows the reason the backend gave for a failed request', async () => {
    const response = {
      ok: false,
      status: 503,
      statusText: 'Service Unavailable',
      headers: { get: () => 'application/json; charset=utf-8' },
      text: async () =>
        JSON.stringify({
          error: {
            name: 'ServiceUnavailableError',
            message: 'The catalog did not answer',
          },
          request: { method: 'GET', url: '/api/stage-manager/board' },
          response: { statusCode: 503 },
        }),
    } as unknown as Response;
    const responseError = await ResponseError.fromResponse(response);
    const api = createApi(async () => {
      throw responseError;
    });
    renderBoard(api);

    expect(await screen.findByRole('alert')).toHaveTextContent(
      'Request failed with 503 Service Unavailable: The catalog did not answer',
    );
    expect(screen.queryByRole('table')).not.toBeInTheDocument();
  });

  it('explains the annotations when no service uses Stage Manager', async () => {
    const api = createApi(async () => page([]));
    renderBoard(api);

    expect(
      await screen.findByText('No services use Stage Manager yet'),
    ).toBeInTheDocument();
    expect(screen.queryByRole('table')).not.toBeInTheDocument();
  });

  it('says so when the filters match nothing', async () => {
    const api = createApi(async () => page([]));
    renderBoard(api, '/stage-manager?search=nope');

    expect(
      await screen.findByText('No services match the filters.'),
    ).toBeInTheDocument();
    expect(
      screen.queryByText('No services use Stage Manager yet'),
    ).not.toBeInTheDocument();
  });
});
