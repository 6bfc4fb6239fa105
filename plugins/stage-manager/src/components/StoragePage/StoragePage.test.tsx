import { renderInTestApp } from '@backstage/frontend-test-utils';
import { Pool, PoolStorage } from '@internal/plugin-stage-manager-common';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useLocation } from 'react-router-dom';
import { StageManagerApi, stageManagerApiRef } from '../../api';
import { catalogEntityRouteRef } from '../../routes';
import { StoragePage } from './StoragePage';

// Rendering pages is slow on a busy 2-core CI machine (guests boot in parallel).
jest.setTimeout(30_000);

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

function pool(name: string, title?: string): Pool {
  return {
    name,
    title,
    driver: 'libvirt',
    location: { path: `/var/lib/stage-manager/pools/${name}` },
    capacity: { vcpus: 32, memoryMiB: 65536, diskGiB: 1024 },
    allocated: { vcpus: 0, memoryMiB: 0, diskGiB: 0 },
    driverAvailable: true,
  };
}

const lab: PoolStorage = {
  pool: 'lab',
  bases: [{ path: '/var/lib/images/debian-12.qcow2' }],
  disks: [
    {
      name: 'shop-int-web-root.qcow2',
      path: '/pools/lab/shop-int-web-root.qcow2',
      allocatedBytes: 1.5 * GiB,
      virtualSizeBytes: 20 * GiB,
      backingPath: '/var/lib/images/debian-12.qcow2',
      deploymentId: 'dep-int',
      serviceRef: 'component:default/shop',
      stage: 'integration',
      deploymentState: 'undeployed',
    },
    {
      name: 'shop-test-web-root.qcow2',
      path: '/pools/lab/shop-test-web-root.qcow2',
      allocatedBytes: 200 * MiB,
      virtualSizeBytes: 20 * GiB,
      backingPath: '/pools/lab/shop-int-web-root.qcow2',
      deploymentId: 'dep-test',
      serviceRef: 'component:default/shop',
      stage: 'test',
      deploymentState: 'running',
    },
    {
      name: 'shop-uat-web-root.qcow2',
      path: '/pools/lab/shop-uat-web-root.qcow2',
      allocatedBytes: 640 * 1024,
      virtualSizeBytes: 20 * GiB,
      backingPath: '/pools/lab/shop-int-web-root.qcow2',
      deploymentId: 'dep-uat',
      serviceRef: 'component:default/shop',
      stage: 'uat',
      deploymentState: 'stopped',
    },
    {
      name: 'orphan.qcow2',
      path: '/pools/lab/orphan.qcow2',
      allocatedBytes: 512,
      virtualSizeBytes: 10 * GiB,
      backingPath: '/pools/lab/gone.qcow2',
    },
  ],
  totalAllocatedBytes: 1.5 * GiB + 200 * MiB + 640 * 1024 + 512,
};

const prod: PoolStorage = {
  pool: 'prod-east',
  bases: [],
  disks: [
    {
      name: 'billing-prod-db-data.qcow2',
      path: '/pools/prod-east/billing-prod-db-data.qcow2',
      allocatedBytes: 3 * GiB,
      virtualSizeBytes: 100 * GiB,
      deploymentId: 'dep-prod',
      serviceRef: 'component:default/billing',
      stage: 'production',
      deploymentState: 'running',
    },
  ],
  totalAllocatedBytes: 3 * GiB,
};

function createApi(
  overrides: Partial<StageManagerApi> = {},
): jest.Mocked<StageManagerApi> {
  return {
    listPools: jest.fn(async () => ({
      items: [pool('lab', 'Lab'), pool('prod-east')],
      totalCount: 2,
    })),
    getPoolStorage: jest.fn(async (name: string) => {
      if (name === 'lab') return lab;
      if (name === 'prod-east') return prod;
      throw new Error(`No pool named '${name}'`);
    }),
    ...overrides,
  } as Partial<StageManagerApi> as jest.Mocked<StageManagerApi>;
}

function CurrentLocation() {
  const location = useLocation();
  return <output aria-label="location">{location.search}</output>;
}

function renderPage(api: StageManagerApi, url = '/storage') {
  return renderInTestApp(
    <>
      <StoragePage />
      <CurrentLocation />
    </>,
    {
      apis: [[stageManagerApiRef, api]],
      mountedRoutes: {
        '/catalog/:namespace/:kind/:name': catalogEntityRouteRef,
      },
      initialRouteEntries: [url],
    },
  );
}

function item(name: string, container: HTMLElement = document.body) {
  return within(container).getByRole('listitem', { name });
}

/** Names of the items directly below a node of the tree. */
function childrenOf(node: HTMLElement): string[] {
  const name = node.getAttribute('aria-label');
  const list = within(node).queryByRole('list', {
    name: `Disks backed by ${name}`,
  });
  if (!list) return [];
  return [...list.children].map(li => li.getAttribute('aria-label') ?? '');
}

describe('StoragePage', () => {
  it('nests disks under the files they are backed by', async () => {
    const api = createApi();
    renderPage(api);

    const tree = await screen.findByRole('list', { name: 'Disks of pool lab' });
    expect(api.listPools).toHaveBeenCalledWith({ limit: 500 });
    expect(api.getPoolStorage).toHaveBeenCalledWith('lab');
    expect(screen.getByLabelText('Pool')).toHaveValue('lab');

    // Roots: the base image and the disk whose backing file is gone.
    expect([...tree.children].map(li => li.getAttribute('aria-label'))).toEqual(
      ['debian-12.qcow2', 'orphan.qcow2'],
    );
    const base = item('debian-12.qcow2', tree);
    expect(
      within(base).getByText('/var/lib/images/debian-12.qcow2'),
    ).toBeInTheDocument();
    expect(childrenOf(base)).toEqual(['shop-int-web-root.qcow2']);
    const layer = item('shop-int-web-root.qcow2', base);
    expect(childrenOf(layer)).toEqual([
      'shop-test-web-root.qcow2',
      'shop-uat-web-root.qcow2',
    ]);
    expect(childrenOf(item('shop-test-web-root.qcow2', layer))).toEqual([]);
    expect(
      within(base).queryByRole('listitem', { name: 'orphan.qcow2' }),
    ).toBeNull();

    const orphan = item('orphan.qcow2', tree);
    expect(
      within(orphan).getByText('backing file /pools/lab/gone.qcow2 not found'),
    ).toBeInTheDocument();
    expect(within(orphan).getByText('no deployment')).toBeInTheDocument();
  });

  it('shows sizes, owners and layers kept for other disks', async () => {
    const api = createApi();
    renderPage(api);
    await screen.findByRole('list', { name: 'Disks of pool lab' });

    expect(
      screen.getByText(
        /allocated by 4 disks \(1 is kept as a layer\), backed by 1 base image/,
      ),
    ).toHaveTextContent(/^1.7 GiB allocated/);

    const layer = item('shop-int-web-root.qcow2');
    const layerLabel = layer.firstElementChild as HTMLElement;
    expect(
      within(layerLabel).getByText('1.5 GiB of 20 GiB'),
    ).toBeInTheDocument();
    expect(within(layerLabel).getByText('undeployed')).toBeInTheDocument();
    expect(within(layerLabel).getByText('kept as a layer')).toBeInTheDocument();
    expect(
      within(layerLabel).getByRole('link', { name: 'shop' }),
    ).toHaveAttribute('href', '/catalog/default/component/shop');

    const test = item('shop-test-web-root.qcow2')
      .firstElementChild as HTMLElement;
    expect(within(test).getByText('200 MiB of 20 GiB')).toBeInTheDocument();
    expect(within(test).getByText(/test$/)).toBeInTheDocument();
    expect(within(test).getByText('running')).toBeInTheDocument();
    expect(within(test).queryByText('kept as a layer')).toBeNull();

    const uat = item('shop-uat-web-root.qcow2')
      .firstElementChild as HTMLElement;
    expect(within(uat).getByText('640 KiB of 20 GiB')).toBeInTheDocument();
    expect(
      within(item('orphan.qcow2').firstElementChild as HTMLElement).getByText(
        '512 B of 10 GiB',
      ),
    ).toBeInTheDocument();
  });

  it('switches pools, re-fetching and keeping the pool in the URL', async () => {
    const api = createApi();
    renderPage(api);
    await screen.findByRole('list', { name: 'Disks of pool lab' });

    await userEvent.selectOptions(screen.getByLabelText('Pool'), 'prod-east');

    expect(
      await screen.findByRole('list', { name: 'Disks of pool prod-east' }),
    ).toBeInTheDocument();
    expect(api.getPoolStorage).toHaveBeenLastCalledWith('prod-east');
    expect(screen.getByLabelText('location')).toHaveTextContent(
      '?pool=prod-east',
    );
    expect(screen.getByLabelText('Pool')).toHaveValue('prod-east');
    expect(
      screen.queryByRole('listitem', { name: 'debian-12.qcow2' }),
    ).toBeNull();
    expect(item('billing-prod-db-data.qcow2')).toHaveTextContent(
      '3 GiB of 100 GiB',
    );
  });

  it('opens the pool named in the URL', async () => {
    const api = createApi();
    renderPage(api, '/storage?pool=prod-east');

    expect(
      await screen.findByRole('list', { name: 'Disks of pool prod-east' }),
    ).toBeInTheDocument();
    expect(api.getPoolStorage).toHaveBeenCalledWith('prod-east');
    expect(api.getPoolStorage).not.toHaveBeenCalledWith('lab');
  });

  it('shows API errors', async () => {
    const api = createApi({
      getPoolStorage: jest.fn(async () => {
        throw new Error('The libvirt driver is not installed');
      }),
    });
    renderPage(api);

    expect(await screen.findByRole('alert')).toHaveTextContent(
      'The libvirt driver is not installed',
    );
    expect(screen.queryByRole('list', { name: /Disks of pool/ })).toBeNull();
  });

  it('shows errors listing the pools', async () => {
    const api = createApi({
      listPools: jest.fn(async () => {
        throw new Error('You may not read pools');
      }),
    });
    renderPage(api);

    expect(await screen.findByRole('alert')).toHaveTextContent(
      'You may not read pools',
    );
    await waitFor(() => expect(api.getPoolStorage).not.toHaveBeenCalled());
  });
});
