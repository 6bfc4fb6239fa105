import '@testing-library/jest-dom';
import { mockApis, renderInTestApp } from '@backstage/frontend-test-utils';
import { signalApiRef } from '@backstage/plugin-signals-react';
import { Archive } from '@internal/plugin-stage-manager-common';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { StageManagerApi, stageManagerApiRef } from '../../api';
import { rootRouteRef } from '../../routes';
import { ServiceView } from './ServiceView';
import { createApi, IDS, operation, SHOP, shopDetails } from './testFixtures';

jest.setTimeout(30_000);

const ARCHIVE_ID = 'a1000000-0000-4000-8000-000000000001';

function archive(overrides: Partial<Archive> = {}): Archive {
  return {
    id: ARCHIVE_ID,
    serviceRef: SHOP,
    stage: 'test',
    sourceDeploymentId: IDS.test,
    configurationId: 'c0000000-0000-4000-8000-000000000001',
    configurationVersion: 3,
    state: 'available',
    tier: 'hot',
    description: 'before the patch',
    machines: [],
    disks: [],
    logicalBytes: 2 * 1024 ** 3,
    dataBytes: 600 * 1024 ** 2,
    addedBytes: 200 * 1024 ** 2,
    operationId: 'op-a',
    createdBy: 'user:default/alice',
    createdAt: '2025-01-03T00:00:00Z',
    ...overrides,
  };
}

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

function withArchives(overrides: Partial<StageManagerApi> = {}) {
  return createApi({
    listArchives: async () => ({ items: [archive()], totalCount: 1 }),
    listArchiveTiers: async () => [
      {
        tier: 'hot',
        location: '/data/archives/hot',
        compressionLevel: 3,
        archives: 1,
        chunks: 200,
        storedBytes: 200 * 1024 ** 2,
        rawBytes: 600 * 1024 ** 2,
        archivedDataBytes: 600 * 1024 ** 2,
      },
      {
        tier: 'cold',
        location: '/data/archives/cold',
        compressionLevel: 12,
        archives: 0,
        chunks: 0,
        storedBytes: 0,
        rawBytes: 0,
        archivedDataBytes: 0,
      },
    ],
    ...overrides,
  });
}

const row = async () =>
  screen.findByRole('row', { name: `Archive ${ARCHIVE_ID.slice(0, 8)}` });

describe('archives on the service page', () => {
  it('archives a deployment with one click and follows the operation', async () => {
    const api = createApi({
      archiveDeployment: jest.fn(async () =>
        operation({
          id: 'op-archive',
          kind: 'archive',
          deploymentId: IDS.test,
          targetDeploymentId: undefined,
          targetStage: undefined,
        }),
      ),
    });
    renderView(api);
    const card = await screen.findByRole('group', {
      name: `Deployment ${IDS.test.slice(0, 8)}`,
    });
    const button = within(card).getByRole('button', { name: 'Archive' });
    await waitFor(() => expect(button).toBeEnabled());
    await userEvent.click(button);
    expect(api.archiveDeployment).toHaveBeenCalledWith(IDS.test);
    expect(
      await screen.findByRole('group', {
        name: `Operation archive ${IDS.test.slice(0, 8)}`,
      }),
    ).toBeInTheDocument();
  });

  it('disables Archive for a deployment that is neither running nor stopped', async () => {
    const details = shopDetails();
    const copy = details.stages[1].deployments.find(d => d.id === IDS.copy)!;
    copy.state = 'failed';
    const api = createApi({ getService: async () => details });
    renderView(api);
    const card = await screen.findByRole('group', {
      name: `Deployment ${IDS.copy.slice(0, 8)}`,
    });
    const button = within(card).getByRole('button', { name: 'Archive' });
    await userEvent.hover(button.parentElement!);
    expect(await screen.findByRole('tooltip')).toHaveTextContent(
      'Only running or stopped deployments can be archived',
    );
  });

  it('lists the archives with tier and sizes, and restores one into a stage', async () => {
    const api = withArchives({
      restoreArchive: jest.fn(async () =>
        operation({ id: 'op-restore', kind: 'restore' }),
      ),
    });
    renderView(api);
    const archiveRow = await row();
    expect(archiveRow).toHaveTextContent('before the patch');
    expect(archiveRow).toHaveTextContent('600.0 MiB / 200.0 MiB');
    expect(archiveRow).toHaveTextContent('hot');

    await userEvent.click(
      within(archiveRow).getByRole('button', { name: 'Restore' }),
    );
    const dialog = await screen.findByRole('dialog');
    await userEvent.click(within(dialog).getByRole('button', { name: /test/ }));
    await userEvent.click(await screen.findByRole('option', { name: 'uat' }));
    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Restore' }),
    );
    await waitFor(() =>
      expect(api.restoreArchive).toHaveBeenCalledWith(ARCHIVE_ID, {
        mode: 'new',
        stage: 'uat',
      }),
    );
  });

  it('restores over the deployment it came from', async () => {
    const api = withArchives({
      restoreArchive: jest.fn(async () =>
        operation({ id: 'op-restore', kind: 'restore' }),
      ),
    });
    renderView(api);
    await userEvent.click(
      within(await row()).getByRole('button', { name: 'Restore' }),
    );
    const dialog = await screen.findByRole('dialog');
    await userEvent.click(
      within(dialog).getByRole('radio', {
        name: `Over deployment ${IDS.test.slice(0, 8)}`,
      }),
    );
    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Restore' }),
    );
    await waitFor(() =>
      expect(api.restoreArchive).toHaveBeenCalledWith(ARCHIVE_ID, {
        mode: 'replace',
      }),
    );
  });

  it('moves an archive to the other tier', async () => {
    const api = withArchives({
      moveArchive: jest.fn(async () =>
        operation({ id: 'op-move', kind: 'move-archive' }),
      ),
    });
    renderView(api);
    await userEvent.click(
      within(await row()).getByRole('button', { name: 'Move to cold' }),
    );
    expect(api.moveArchive).toHaveBeenCalledWith(ARCHIVE_ID, { tier: 'cold' });
  });

  it('deletes an archive only after confirmation, and shows a refusal', async () => {
    const api = withArchives({
      deleteArchive: jest
        .fn()
        .mockRejectedValueOnce(
          new Error(`Archive ${ARCHIVE_ID} is in use by operation op-restore`),
        ),
    });
    renderView(api);
    await userEvent.click(
      within(await row()).getByRole('button', { name: 'Delete' }),
    );
    expect(api.deleteArchive).not.toHaveBeenCalled();
    const dialog = await screen.findByRole('dialog');
    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Delete' }),
    );
    expect(api.deleteArchive).toHaveBeenCalledWith(ARCHIVE_ID);
    expect(
      await within(dialog).findByText(/is in use by operation op-restore/),
    ).toBeInTheDocument();
  });
});
