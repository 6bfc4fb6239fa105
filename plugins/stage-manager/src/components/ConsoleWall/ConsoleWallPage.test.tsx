import { renderInTestApp } from '@backstage/frontend-test-utils';
import { Deployment } from '@internal/plugin-stage-manager-common';
import RFB from '@novnc/novnc';
import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { StageManagerApi, stageManagerApiRef } from '../../api';
import { rootRouteRef } from '../../routes';
import { ConsoleWallPage } from './ConsoleWallPage';

// Rendering pages is slow on a busy 2-core CI machine (guests boot in parallel).
jest.setTimeout(30_000);

/** A stand-in for noVNC's RFB client: records what the page does with it. */
class MockRfb extends EventTarget {
  viewOnly = false;
  scaleViewport = false;
  background = '';
  disconnect = jest.fn(() => {
    this.dispatchEvent(
      new CustomEvent('disconnect', { detail: { clean: true } }),
    );
  });
  focus = jest.fn();
  blur = jest.fn();
  sendCtrlAltDel = jest.fn();
  constructor(
    readonly target: HTMLElement,
    readonly url: string,
    readonly options: unknown,
  ) {
    super();
  }
}

jest.mock('@novnc/novnc', () => ({
  __esModule: true,
  default: jest.fn(),
}));

const RfbMock = RFB as unknown as jest.Mock<MockRfb>;

const deployment: Deployment = {
  id: 'dep-1',
  serviceRef: 'component:default/shop',
  stage: 'test',
  configurationId: 'cfg-1',
  configurationVersion: 3,
  pool: 'lab',
  state: 'running',
  role: 'primary',
  machines: [
    {
      name: 'web',
      template: 'debian-12',
      vcpus: 2,
      memoryMiB: 2048,
      diskGiB: 10,
      driverRef: 'sm-dep-1-web',
      state: 'running',
    },
    {
      name: 'db',
      template: 'postgres-16',
      vcpus: 4,
      memoryMiB: 8192,
      diskGiB: 40,
      driverRef: 'sm-dep-1-db',
      state: 'running',
    },
    {
      name: 'batch',
      template: 'debian-12',
      vcpus: 1,
      memoryMiB: 1024,
      diskGiB: 10,
      driverRef: 'sm-dep-1-batch',
      state: 'stopped',
    },
  ],
  createdAt: '2025-01-01T00:00:00Z',
  createdBy: 'user:default/alice',
  updatedAt: '2025-01-01T00:00:00Z',
};

function createApi(
  overrides: Partial<StageManagerApi> = {},
): jest.Mocked<StageManagerApi> {
  return {
    getDeployment: jest.fn(async () => deployment),
    getConsoleConnection: jest.fn(async (id: string, machine: string) => ({
      url: `ws://localhost:7007/api/stage-manager/deployments/${id}/machines/${machine}/console`,
      protocols: ['binary', `token-for-${machine}`],
    })),
    ...overrides,
  } as Partial<StageManagerApi> as jest.Mocked<StageManagerApi>;
}

function renderPage(api: StageManagerApi) {
  return renderInTestApp(<ConsoleWallPage />, {
    apis: [[stageManagerApiRef, api]],
    mountedRoutes: { '/stage-manager': rootRouteRef },
    mountPath: '/stage-manager/deployments/:id/consoles',
    initialRouteEntries: ['/stage-manager/deployments/dep-1/consoles'],
  });
}

function rfbOf(machine: string): MockRfb {
  const found = RfbMock.mock.results
    .map(r => r.value as MockRfb)
    .filter(r => r.url.endsWith(`/machines/${machine}/console`));
  if (found.length === 0) throw new Error(`No RFB for ${machine}`);
  return found[found.length - 1];
}

function tile(machine: string): HTMLElement {
  return screen.getByRole('region', { name: `Console of ${machine}` });
}

describe('ConsoleWallPage', () => {
  beforeEach(() => {
    RfbMock.mockReset();
    RfbMock.mockImplementation(
      (target: HTMLElement, url: string, options: unknown) =>
        new MockRfb(target, url, options),
    );
  });

  it('shows a labelled tile per machine with a view-only console for running machines', async () => {
    const api = createApi();
    renderPage(api);

    expect(
      await screen.findByText('Consoles of shop in test'),
    ).toBeInTheDocument();
    expect(api.getDeployment).toHaveBeenCalledWith('dep-1');
    expect(
      screen.getAllByRole('region', { name: /^Console of / }),
    ).toHaveLength(3);
    expect(within(tile('web')).getByText('web')).toBeInTheDocument();
    expect(within(tile('web')).getByText('debian-12')).toBeInTheDocument();
    expect(within(tile('web')).getByText('running')).toBeInTheDocument();
    expect(within(tile('db')).getByText('postgres-16')).toBeInTheDocument();
    expect(
      screen.getByRole('link', { name: 'component:default/shop' }),
    ).toHaveAttribute('href', '/stage-manager/services/component/default/shop');

    await waitFor(() => expect(RfbMock).toHaveBeenCalledTimes(2));
    expect(api.getConsoleConnection).toHaveBeenCalledWith('dep-1', 'web');
    expect(api.getConsoleConnection).toHaveBeenCalledWith('dep-1', 'db');
    expect(RfbMock).toHaveBeenCalledWith(
      screen.getByTestId('console-screen-web'),
      'ws://localhost:7007/api/stage-manager/deployments/dep-1/machines/web/console',
      { wsProtocols: ['binary', 'token-for-web'] },
    );
    const web = rfbOf('web');
    expect(web.viewOnly).toBe(true);
    expect(web.scaleViewport).toBe(true);
    expect(within(tile('web')).getByRole('status')).toHaveTextContent(
      'Connecting…',
    );

    act(() => {
      web.dispatchEvent(new CustomEvent('connect'));
    });
    expect(within(tile('web')).getByRole('status')).toHaveTextContent(
      'Connected',
    );
  });

  it('shows stopped machines without a console', async () => {
    const api = createApi();
    renderPage(api);

    const batch = await screen.findByRole('region', {
      name: 'Console of batch',
    });
    expect(within(batch).getAllByText('stopped').length).toBeGreaterThan(0);
    expect(
      within(batch).getByText('No console while the machine is stopped.'),
    ).toBeInTheDocument();
    expect(
      within(batch).queryByRole('button', { name: /Focus console/ }),
    ).not.toBeInTheDocument();
    await waitFor(() => expect(RfbMock).toHaveBeenCalledTimes(2));
    expect(api.getConsoleConnection).not.toHaveBeenCalledWith('dep-1', 'batch');
  });

  it('shows no consoles when the deployment is stopped', async () => {
    const api = createApi({
      getDeployment: jest.fn(async () => ({
        ...deployment,
        state: 'stopped' as const,
      })),
    });
    renderPage(api);

    expect(
      await screen.findByText('Consoles of shop in test'),
    ).toBeInTheDocument();
    expect(
      screen.getAllByText(/^No console while the machine is/),
    ).toHaveLength(3);
    expect(api.getConsoleConnection).not.toHaveBeenCalled();
    expect(RfbMock).not.toHaveBeenCalled();
  });

  it('focuses a clicked console for input and sends Ctrl-Alt-Del to it', async () => {
    const api = createApi();
    renderPage(api);
    await waitFor(() => expect(RfbMock).toHaveBeenCalledTimes(2));
    const web = rfbOf('web');
    const db = rfbOf('db');
    act(() => {
      web.dispatchEvent(new CustomEvent('connect'));
    });

    expect(
      screen.queryByRole('button', { name: 'Send Ctrl-Alt-Del' }),
    ).not.toBeInTheDocument();

    await userEvent.click(
      screen.getByRole('button', { name: 'Focus console of web' }),
    );

    expect(web.viewOnly).toBe(false);
    expect(web.focus).toHaveBeenCalled();
    expect(db.viewOnly).toBe(true);
    expect(db.focus).not.toHaveBeenCalled();
    expect(
      within(tile('web')).queryByRole('button', {
        name: 'Focus console of web',
      }),
    ).not.toBeInTheDocument();

    await userEvent.click(
      within(tile('web')).getByRole('button', { name: 'Send Ctrl-Alt-Del' }),
    );
    expect(web.sendCtrlAltDel).toHaveBeenCalledTimes(1);
    expect(db.sendCtrlAltDel).not.toHaveBeenCalled();

    // Focusing another console returns the first to view-only.
    await userEvent.click(
      screen.getByRole('button', { name: 'Focus console of db' }),
    );
    expect(web.viewOnly).toBe(true);
    expect(db.viewOnly).toBe(false);
    expect(
      within(tile('web')).queryByRole('button', { name: 'Send Ctrl-Alt-Del' }),
    ).not.toBeInTheDocument();

    await userEvent.click(
      screen.getByRole('button', { name: 'Back to the wall' }),
    );
    expect(db.viewOnly).toBe(true);
    expect(
      screen.queryByRole('button', { name: 'Send Ctrl-Alt-Del' }),
    ).not.toBeInTheDocument();
    // The same connections all along.
    expect(RfbMock).toHaveBeenCalledTimes(2);
  });

  it('shows why a console disconnected and reconnects on request', async () => {
    const api = createApi();
    renderPage(api);
    await waitFor(() => expect(RfbMock).toHaveBeenCalledTimes(2));
    const web = rfbOf('web');

    act(() => {
      web.dispatchEvent(new CustomEvent('connect'));
      web.dispatchEvent(
        new CustomEvent('disconnect', { detail: { clean: false } }),
      );
    });
    expect(within(tile('web')).getByRole('status')).toHaveTextContent(
      'Disconnected: The connection to the console was lost.',
    );

    await userEvent.click(
      within(tile('web')).getByRole('button', { name: 'Reconnect' }),
    );
    await waitFor(() => expect(RfbMock).toHaveBeenCalledTimes(3));
    expect(rfbOf('web')).not.toBe(web);
    expect(within(tile('web')).getByRole('status')).toHaveTextContent(
      'Connecting…',
    );
  });

  it('shows the reason a console login failed', async () => {
    const api = createApi();
    renderPage(api);
    await waitFor(() => expect(RfbMock).toHaveBeenCalledTimes(2));
    const db = rfbOf('db');

    act(() => {
      db.dispatchEvent(
        new CustomEvent('securityfailure', {
          detail: { status: 1, reason: 'Authentication failure' },
        }),
      );
      db.dispatchEvent(
        new CustomEvent('disconnect', { detail: { clean: true } }),
      );
    });
    expect(within(tile('db')).getByRole('status')).toHaveTextContent(
      'Disconnected: The console rejected the login: Authentication failure.',
    );
  });

  it('shows a failed console request on its tile', async () => {
    const api = createApi({
      getConsoleConnection: jest.fn(async (_id: string, machine: string) => {
        if (machine === 'db') throw new Error('Machine db has no console');
        return { url: 'ws://localhost/web', protocols: ['binary'] };
      }),
    });
    renderPage(api);

    await waitFor(() =>
      expect(within(tile('db')).getByRole('status')).toHaveTextContent(
        'Disconnected: Machine db has no console',
      ),
    );
    expect(RfbMock).toHaveBeenCalledTimes(1);
    expect(
      within(tile('db')).getByRole('button', { name: 'Reconnect' }),
    ).toBeInTheDocument();
  });

  it('disconnects every console when the page goes away', async () => {
    const api = createApi();
    const { unmount } = renderPage(api);
    expect(
      await screen.findByText('Consoles of shop in test'),
    ).toBeInTheDocument();
    await waitFor(() => expect(RfbMock).toHaveBeenCalledTimes(2));
    const clients = [rfbOf('web'), rfbOf('db')];

    unmount();

    for (const client of clients) {
      expect(client.disconnect).toHaveBeenCalledTimes(1);
    }
  });

  it('shows API errors', async () => {
    const api = createApi({
      getDeployment: jest.fn(async () => {
        throw new Error('No deployment with id dep-1');
      }),
    });
    renderPage(api);

    expect(await screen.findByRole('alert')).toHaveTextContent(
      'No deployment with id dep-1',
    );
    expect(RfbMock).not.toHaveBeenCalled();
  });
});
