import '@testing-library/jest-dom';
import { mockApis, renderInTestApp } from '@backstage/frontend-test-utils';
import { signalApiRef } from '@backstage/plugin-signals-react';
import {
  DriftReport,
  DriftStatus,
} from '@internal/plugin-stage-manager-common';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { StageManagerApi, stageManagerApiRef } from '../../api';
import { rootRouteRef } from '../../routes';
import { ServiceView } from './ServiceView';
import { createApi, IDS, operation, SHOP, shopDetails } from './testFixtures';

jest.setTimeout(30_000);

function renderView(api: StageManagerApi) {
  return renderInTestApp(<ServiceView entityRef={SHOP} />, {
    apis: [
      [stageManagerApiRef, api],
      [
        signalApiRef,
        { subscribe: jest.fn(() => ({ unsubscribe: jest.fn() })) },
      ],
      mockApis.identity({ userEntityRef: 'user:default/alice' }),
      mockApis.permission(),
    ],
    mountedRoutes: { '/stage-manager': rootRouteRef },
  });
}

function report(score: number, overrides: Partial<DriftReport> = {}) {
  const drifted = score < 100;
  const full: DriftReport = {
    id: 'r1',
    deploymentId: IDS.test,
    serviceRef: SHOP,
    stage: 'test',
    productionDeploymentId: IDS.production,
    score,
    layers: [
      {
        layer: 'configuration',
        verdict: 'match',
        score: 100,
        summary: 'Same configuration version as production (v3)',
        differences: [],
      },
      {
        layer: 'hypervisor',
        verdict: drifted ? 'drift' : 'match',
        score: drifted ? 95.8 : 100,
        summary: drifted
          ? 'Changed outside Stage Manager in copy'
          : 'The hypervisor matches the records of the copy and of production',
        differences: drifted
          ? [
              {
                subject: 'copy: machine db: memoryMiB',
                copy: 256,
                note: 'recorded 192, the hypervisor has 256',
              },
            ]
          : [],
      },
      {
        layer: 'disks',
        verdict: 'match',
        score: 100,
        summary: 'Every disk holds the same bytes as production',
        differences: [],
        disks: [],
      },
      {
        layer: 'divergence',
        verdict: 'match',
        score: 100,
        summary: 'taken from production 0 days ago; 0 production changes since',
        differences: [],
      },
    ],
    trigger: 'schedule',
    scannedAt: '2026-12-04T10:00:00Z',
    durationMs: 1200,
    ...overrides,
  };
  return full;
}

const status = (latest?: DriftReport): DriftStatus => ({
  latest,
  history: latest
    ? [
        { scannedAt: latest.scannedAt, score: latest.score, layers: {} },
        { scannedAt: '2026-12-03T10:00:00Z', score: 100, layers: {} },
      ]
    : [],
  scanning: false,
});

describe('drift on the service page', () => {
  it('shows each deployment’s match score, layers and differences, and the score over time', async () => {
    const api = createApi({
      getDrift: async id =>
        id === IDS.test ? status(report(98.3)) : status(undefined),
    });
    renderView(api);
    const group = await screen.findByRole('group', {
      name: `Drift of ${IDS.test.slice(0, 8)}`,
    });
    expect(
      within(group).getByText('Matches production: 98.3 %'),
    ).toBeInTheDocument();
    const layers = within(group).getByRole('table', {
      name: `Drift layers of ${IDS.test.slice(0, 8)}`,
    });
    const hypervisor = within(layers).getByRole('row', {
      name: /Hypervisor vs records/,
    });
    expect(within(hypervisor).getByText('drift')).toBeInTheDocument();
    expect(within(hypervisor).getByText('95.8 %')).toBeInTheDocument();
    expect(
      within(hypervisor).getByText(
        'copy: machine db: memoryMiB · copy 256 · recorded 192, the hypervisor has 256',
      ),
    ).toBeInTheDocument();
    expect(
      within(group).getByLabelText(
        `Match score over time of ${IDS.test.slice(0, 8)}`,
      ),
    ).toBeInTheDocument();
    // Production's primary is what the others are compared with; retired ones are left out.
    expect(
      screen.queryByRole('group', {
        name: `Drift of ${IDS.production.slice(0, 8)}`,
      }),
    ).not.toBeInTheDocument();
    expect(
      screen.queryByRole('group', {
        name: `Drift of ${IDS.retired.slice(0, 8)}`,
      }),
    ).not.toBeInTheDocument();
    const copy = screen.getByRole('group', {
      name: `Drift of ${IDS.copy.slice(0, 8)}`,
    });
    expect(within(copy).getByText('Not scanned yet')).toBeInTheDocument();
  });

  it('scans now and shows the new report', async () => {
    let current = status(undefined);
    const api = createApi({
      getDrift: async () => current,
      scanDrift: jest.fn(async () => {
        current = status(report(100));
        return current.latest!;
      }),
    });
    renderView(api);
    const group = await screen.findByRole('group', {
      name: `Drift of ${IDS.test.slice(0, 8)}`,
    });
    await userEvent.click(
      within(group).getByRole('button', { name: 'Scan now' }),
    );
    expect(api.scanDrift).toHaveBeenCalledWith(IDS.test);
    expect(
      await within(group).findByText('Matches production: 100 %'),
    ).toBeInTheDocument();
  });

  it('refreshes a copy from production and follows the operation', async () => {
    const api = createApi({
      refresh: jest.fn(async () =>
        operation({
          id: 'op-refresh',
          kind: 'refresh',
          deploymentId: IDS.production,
          targetDeploymentId: IDS.copy,
          stage: 'production',
          targetStage: 'test',
        }),
      ),
    });
    renderView(api);
    const group = await screen.findByRole('group', {
      name: `Drift of ${IDS.copy.slice(0, 8)}`,
    });
    await userEvent.click(
      within(group).getByRole('button', { name: 'Refresh from production' }),
    );
    expect(api.refresh).toHaveBeenCalledWith(IDS.copy);
    await waitFor(() =>
      expect(
        screen.getByRole('group', {
          name: `Operation refresh ${IDS.copy.slice(0, 8)} from production`,
        }),
      ).toBeInTheDocument(),
    );
  });

  it('says so when production runs nothing to compare with', async () => {
    const details = shopDetails();
    details.stages[details.stages.length - 1].deployments = [];
    const api = createApi({ getService: async () => details });
    renderView(api);
    expect(
      await screen.findByText('production runs no deployment to compare with.'),
    ).toBeInTheDocument();
    expect(api.getDrift).not.toHaveBeenCalled();
  });
});
