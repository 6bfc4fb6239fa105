import { renderInTestApp } from '@backstage/frontend-test-utils';
import { PoolUsage } from '@internal/plugin-stage-manager-common';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { StageManagerApi, stageManagerApiRef } from '../../api';
import { catalogEntityRouteRef } from '../../routes';
import { UsagePage } from './UsagePage';

// Rendering pages is slow on a busy 2-core CI machine (guests boot in parallel).
jest.setTimeout(30_000);

const lab: PoolUsage = {
  pool: {
    name: 'lab',
    title: 'Lab',
    driver: 'libvirt',
    location: { path: '/var/lib/stage-manager/pools/lab' },
    capacity: { vcpus: 32, memoryMiB: 65536, diskGiB: 1024 },
    allocated: { vcpus: 12, memoryMiB: 20480, diskGiB: 150 },
    driverAvailable: true,
  },
  measured: {
    physical: { vcpus: 16, memoryMiB: 32768, diskGiB: 2048 },
    used: { vcpus: 8, memoryMiB: 16384, diskGiB: 40 },
  },
  byService: [
    {
      serviceRef: 'component:default/shop',
      stage: 'integration',
      deployments: 1,
      allocated: { vcpus: 4, memoryMiB: 4096, diskGiB: 50 },
      diskBytes: 3 * 1024 ** 3,
    },
    {
      serviceRef: 'component:default/shop',
      stage: 'test',
      deployments: 2,
      allocated: { vcpus: 6, memoryMiB: 12288, diskGiB: 60 },
      diskBytes: 512 * 1024 ** 2,
    },
    {
      serviceRef: 'component:default/billing',
      stage: 'integration',
      deployments: 1,
      allocated: { vcpus: 2, memoryMiB: 4096, diskGiB: 40 },
    },
  ],
};

const prod: PoolUsage = {
  pool: {
    name: 'prod-east',
    driver: 'libvirt',
    location: {},
    capacity: { vcpus: 64, memoryMiB: 131072, diskGiB: 4096 },
    allocated: { vcpus: 0, memoryMiB: 0, diskGiB: 0 },
    driverAvailable: true,
  },
  error:
    'The libvirt driver could not measure pool prod-east: virsh: connection refused',
  byService: [],
};

class ResizeObserverStub {
  constructor(private readonly callback: ResizeObserverCallback) {}
  observe(target: Element) {
    this.callback(
      [{ target, contentRect: { width: 800, height: 300 } } as any],
      this as unknown as ResizeObserver,
    );
  }
  unobserve() {}
  disconnect() {}
}

function createApi(
  getUsage: StageManagerApi['getUsage'],
): jest.Mocked<StageManagerApi> {
  return {
    getUsage: jest.fn(getUsage),
  } as Partial<StageManagerApi> as jest.Mocked<StageManagerApi>;
}

function renderPage(api: StageManagerApi) {
  return renderInTestApp(<UsagePage />, {
    apis: [[stageManagerApiRef, api]],
    mountedRoutes: { '/catalog/:namespace/:kind/:name': catalogEntityRouteRef },
  });
}

/** The table row whose first cell reads `header`. */
function rowOf(table: HTMLElement, header: string): HTMLElement {
  const row = within(table)
    .getAllByRole('row')
    .find(r => within(r).queryAllByRole('cell')[0]?.textContent === header);
  if (!row) throw new Error(`No row ${header}`);
  return row;
}

function rowsOf(table: HTMLElement): string[][] {
  return within(table)
    .getAllByRole('row')
    .slice(1)
    .map(row =>
      within(row)
        .getAllByRole('cell')
        .map(cell => cell.textContent ?? ''),
    );
}

describe('UsagePage', () => {
  const originalResizeObserver = global.ResizeObserver;
  beforeAll(() => {
    global.ResizeObserver =
      ResizeObserverStub as unknown as typeof ResizeObserver;
  });
  afterAll(() => {
    global.ResizeObserver = originalResizeObserver;
  });

  it('shows capacity, allocation and measured use per pool', async () => {
    const api = createApi(async () => [lab, prod]);
    renderPage(api);

    const capacity = await screen.findByRole('table', {
      name: 'Capacity of pool lab',
    });
    expect(screen.getByText('Lab (lab)')).toBeInTheDocument();
    expect(rowOf(capacity, 'vCPU')).toHaveTextContent(
      /^vCPU32 vCPU12 vCPU \(37\.5%\)8 vCPU \(25%\)16 vCPU$/,
    );
    expect(rowOf(capacity, 'Memory')).toHaveTextContent(
      /^Memory64 GiB20 GiB \(31\.3%\)16 GiB \(25%\)32 GiB$/,
    );
    expect(rowOf(capacity, 'Disk')).toHaveTextContent(
      /^Disk1 TiB150 GiB \(14\.6%\)40 GiB \(3\.9%\)2 TiB$/,
    );

    // The chart has both series and the capacity line.
    const card = capacity.closest('.MuiCard-root') as HTMLElement;
    // recharts renders its legend after layout: wait for it.
    await waitFor(() => {
      const legend = [
        ...card.querySelectorAll('.recharts-legend-item-text'),
      ].map(e => e.textContent);
      expect(legend).toEqual(
        expect.arrayContaining(['Allocated', 'Measured in use']),
      );
    });
    expect(within(card).getByText('capacity')).toBeInTheDocument();
  });

  it('lists allocation per service and stage, stacked by stage', async () => {
    const api = createApi(async () => [lab]);
    renderPage(api);

    const services = await screen.findByRole('table', {
      name: 'vCPU allocated per service on pool lab',
    });
    expect(rowsOf(services)).toEqual([
      ['shop', 'integration', '1', '4 vCPU', '3 GiB'],
      ['shop', 'test', '2', '6 vCPU', '512 MiB'],
      ['billing', 'integration', '1', '2 vCPU', 'not measured'],
    ]);
    expect(
      within(services).getAllByRole('link', { name: 'shop' })[0],
    ).toHaveAttribute('href', '/catalog/default/component/shop');

    // One legend entry per stage, one axis label per service.
    await waitFor(() => {
      const labels = [
        ...document.querySelectorAll('.recharts-legend-item-text'),
      ].map(e => e.textContent);
      expect(labels).toEqual(
        expect.arrayContaining(['integration', 'test', 'Allocated']),
      );
      expect(labels.filter(l => l === 'integration')).toHaveLength(1);
      const ticks = [
        ...document.querySelectorAll('.recharts-cartesian-axis-tick-value'),
      ].map(e => e.textContent);
      expect(ticks).toEqual(expect.arrayContaining(['shop', 'billing']));
    });
  });

  it('switches the per-service chart and table to another resource', async () => {
    const api = createApi(async () => [lab]);
    renderPage(api);
    await screen.findByRole('table', {
      name: 'vCPU allocated per service on pool lab',
    });
    expect(screen.getByRole('button', { name: 'vCPU' })).toHaveAttribute(
      'aria-pressed',
      'true',
    );
    await waitFor(() =>
      expect(
        [...document.querySelectorAll('.recharts-cartesian-axis-tick-value')]
          .map(e => e.textContent)
          .filter(t => /^\d+ vCPU$/.test(t ?? '')).length,
      ).toBeGreaterThan(0),
    );

    await userEvent.click(screen.getByRole('button', { name: 'Memory' }));

    expect(screen.getByRole('button', { name: 'Memory' })).toHaveAttribute(
      'aria-pressed',
      'true',
    );
    expect(
      screen.queryByRole('table', {
        name: 'vCPU allocated per service on pool lab',
      }),
    ).not.toBeInTheDocument();
    const memory = screen.getByRole('table', {
      name: 'Memory allocated per service on pool lab',
    });
    expect(
      within(memory).getByRole('columnheader', { name: 'Memory allocated' }),
    ).toBeInTheDocument();
    expect(rowsOf(memory).map(row => row[3])).toEqual([
      '4 GiB',
      '12 GiB',
      '4 GiB',
    ]);
    expect(
      screen.getByText('Memory allocated per service and stage'),
    ).toBeInTheDocument();
    // The per-service chart's axis counts GiB now (the capacity chart's counts percent).
    const ticks = () =>
      [...document.querySelectorAll('.recharts-cartesian-axis-tick-value')].map(
        e => e.textContent ?? '',
      );
    await waitFor(() =>
      expect(ticks().filter(t => /^\d+ GiB$/.test(t)).length).toBeGreaterThan(
        2,
      ),
    );
    expect(ticks()).toContain('0 GiB');
    expect(ticks().filter(t => /^\d+ vCPU$/.test(t))).toEqual([]);

    await userEvent.click(screen.getByRole('button', { name: 'Disk' }));
    const disk = screen.getByRole('table', {
      name: 'Disk allocated per service on pool lab',
    });
    expect(rowsOf(disk).map(row => row[3])).toEqual([
      '50 GiB',
      '60 GiB',
      '40 GiB',
    ]);
  });

  it('warns when the driver could not measure a pool', async () => {
    const api = createApi(async () => [prod]);
    renderPage(api);

    expect(
      await screen.findByText("Warning: The driver's measurement failed"),
    ).toBeInTheDocument();
    expect(
      screen.getByText(
        'The libvirt driver could not measure pool prod-east: virsh: connection refused',
      ),
    ).toBeInTheDocument();
    const capacity = screen.getByRole('table', {
      name: 'Capacity of pool prod-east',
    });
    expect(rowOf(capacity, 'vCPU')).toHaveTextContent(
      /^vCPU64 vCPU0 vCPU \(0%\)not measurednot measured$/,
    );
    await waitFor(() => {
      const legend = [
        ...document.querySelectorAll('.recharts-legend-item-text'),
      ].map(e => e.textContent);
      expect(legend).toEqual(['Allocated']);
    });
    expect(
      screen.getByText('No deployments hold resources on this pool.'),
    ).toBeInTheDocument();
  });

  it('shows API errors', async () => {
    const api = createApi(async () => {
      throw new Error('Stage Manager backend is unavailable');
    });
    renderPage(api);

    expect(await screen.findByRole('alert')).toHaveTextContent(
      'Stage Manager backend is unavailable',
    );
    expect(screen.queryByRole('table')).not.toBeInTheDocument();
  });
});
