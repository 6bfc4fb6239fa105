import { renderInTestApp } from '@backstage/frontend-test-utils';
import { ConfigurationVersion } from '@internal/plugin-stage-manager-common';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Route, Routes, useLocation } from 'react-router-dom';
import { StageManagerApi, stageManagerApiRef } from '../../api';
import { rootRouteRef } from '../../routes';
import { ConfigurationEditorPage } from './ConfigurationEditorPage';
import {
  SHOP,
  SHOP_STACK,
  SHOP_STACK_ID,
  SHOP_VERSIONS,
  createApi,
  responseError,
} from './testFixtures';

// Rendering pages is slow on a busy 2-core CI machine (guests boot in parallel).
jest.setTimeout(30_000);

const NEW_ID = 'c0000000-0000-4000-8000-000000000009';

function CurrentLocation() {
  return <output aria-label="location">{useLocation().pathname}</output>;
}

function renderEditor(api: StageManagerApi, url: string) {
  return renderInTestApp(
    <>
      <Routes>
        <Route
          path="/stage-manager/configurations/new"
          element={<ConfigurationEditorPage />}
        />
        <Route
          path="/stage-manager/configurations/:id/edit"
          element={<ConfigurationEditorPage />}
        />
        <Route
          path="/stage-manager/configurations/:id"
          element={<p>The configuration page</p>}
        />
      </Routes>
      <CurrentLocation />
    </>,
    {
      apis: [[stageManagerApiRef, api]],
      mountedRoutes: { '/stage-manager': rootRouteRef },
      initialRouteEntries: [url],
    },
  );
}

function machine(n: number) {
  return screen.getByRole('group', { name: `Machine ${n}` });
}

function field(n: number, label: string | RegExp) {
  return within(machine(n)).getByLabelText(label);
}

/** Replaces a field's text (pasted: typing key by key is slow on a loaded CI machine). */
async function replace(element: HTMLElement, text: string) {
  await userEvent.clear(element);
  if (text) {
    await userEvent.paste(text);
  }
}

async function addMachine(template: string) {
  await userEvent.selectOptions(
    screen.getByLabelText('Template of the new machine'),
    template,
  );
  await userEvent.click(screen.getByRole('button', { name: 'Add machine' }));
}

const NEW_URL = `/stage-manager/configurations/new?service=${encodeURIComponent(
  SHOP,
)}`;

describe('ConfigurationEditorPage', () => {
  it('creates a configuration from templates', async () => {
    const api = createApi({
      createConfiguration: jest.fn(async input => ({
        ...SHOP_STACK,
        id: NEW_ID,
        name: input.name,
        latestVersion: 1,
        current: { ...SHOP_VERSIONS[0], configurationId: NEW_ID },
      })),
    });
    renderEditor(api, NEW_URL);

    expect(await screen.findByLabelText('Service')).toHaveValue(SHOP);
    await replace(screen.getByLabelText(/^Name/), 'shop-lab');
    await replace(screen.getByLabelText('Description'), 'A lab copy');

    await addMachine('postgres-16');
    // The template's sizes are the defaults.
    expect(field(1, /^Name/)).toHaveValue('postgres-16');
    expect(field(1, 'vCPU')).toHaveValue(4);
    expect(field(1, 'Memory (MiB)')).toHaveValue(4096);
    expect(field(1, 'Disk root (GiB)')).toHaveValue(10);
    expect(field(1, 'Disk data (GiB)')).toHaveValue(50);
    await replace(field(1, /^Name/), 'db');
    await replace(field(1, 'Tier'), 'db');
    await replace(field(1, 'vCPU'), '8');
    await replace(field(1, 'Disk data (GiB)'), '100');

    await addMachine('debian-12');
    expect(field(2, /^Name/)).toHaveValue('debian-12');
    await replace(field(2, 'Start order'), '1');
    await addMachine('debian-12');
    expect(field(3, /^Name/)).toHaveValue('debian-12-2');
    await userEvent.click(
      within(machine(3)).getByRole('button', { name: 'Remove machine 3' }),
    );
    expect(
      screen.queryByRole('group', { name: 'Machine 3' }),
    ).not.toBeInTheDocument();

    await userEvent.click(screen.getByRole('button', { name: 'Save' }));

    await waitFor(() =>
      expect(screen.getByLabelText('location')).toHaveTextContent(
        `/stage-manager/configurations/${NEW_ID}`,
      ),
    );
    expect(api.createConfiguration).toHaveBeenCalledTimes(1);
    expect(api.createConfiguration).toHaveBeenCalledWith({
      serviceRef: SHOP,
      name: 'shop-lab',
      description: 'A lab copy',
      machines: [
        {
          name: 'db',
          template: 'postgres-16',
          tier: 'db',
          startOrder: 0,
          vcpus: 8,
          disks: [
            { name: 'root', sizeGiB: 10, source: 'base' },
            { name: 'data', sizeGiB: 100, source: 'blank' },
          ],
        },
        { name: 'debian-12', template: 'debian-12', startOrder: 1 },
      ],
    });
    expect(screen.getByText('The configuration page')).toBeInTheDocument();
  });

  it('shows the fields the schema rejects and sends nothing', async () => {
    const api = createApi({ createConfiguration: jest.fn() });
    renderEditor(api, NEW_URL);

    await replace(await screen.findByLabelText(/^Name/), 'Shop Lab');
    await userEvent.click(screen.getByRole('button', { name: 'Save' }));

    expect(
      await screen.findByText(
        'must be lower-case letters, digits and dashes, starting with a letter, at most 63 characters',
      ),
    ).toBeInTheDocument();
    expect(screen.getByLabelText(/^Name/)).toHaveAttribute(
      'aria-invalid',
      'true',
    );
    expect(
      within(screen.getByRole('region', { name: 'Machines' })).getByRole(
        'alert',
      ),
    ).toHaveTextContent(/expected array to have >=1 items/);
    expect(
      screen.getByText('Correct the marked fields to save.'),
    ).toBeInTheDocument();

    // Errors follow the fixes.
    await replace(screen.getByLabelText(/^Name/), 'shop-lab');
    await addMachine('debian-12');
    await replace(field(1, 'vCPU'), '0');
    expect(
      screen.queryByText(/must be lower-case letters/),
    ).not.toBeInTheDocument();
    expect(field(1, 'vCPU')).toHaveAttribute('aria-invalid', 'true');
    expect(
      within(machine(1)).getByText(/expected number to be >=1/),
    ).toBeInTheDocument();
    expect(api.createConfiguration).not.toHaveBeenCalled();
  });

  it('saves a change as a new version based on the one it started from', async () => {
    const created: ConfigurationVersion = {
      ...SHOP_VERSIONS[2],
      version: 4,
    };
    const api = createApi({
      addConfigurationVersion: jest.fn(async () => created),
      updateConfiguration: jest.fn(async () => SHOP_STACK),
    });
    renderEditor(api, `/stage-manager/configurations/${SHOP_STACK_ID}/edit`);

    expect(
      await screen.findByRole('heading', { name: 'Edit shop-stack' }),
    ).toBeInTheDocument();
    // No name or service: a configuration keeps them.
    expect(screen.queryByLabelText('Service')).not.toBeInTheDocument();
    expect(screen.getByLabelText('Description')).toHaveValue(
      'web, app and db tiers',
    );
    expect(field(3, /^Name/)).toHaveValue('db');
    await waitFor(() => expect(field(3, 'vCPU')).toHaveValue(4));
    expect(
      within(machine(3)).getAllByText('from template').length,
    ).toBeGreaterThan(0);
    expect(field(3, 'Memory (MiB)')).toHaveValue(8192);

    await replace(field(3, 'Memory (MiB)'), '16384');
    await userEvent.click(
      within(machine(4)).getByRole('button', { name: 'Remove machine 4' }),
    );
    await addMachine('debian-12');
    await replace(
      screen.getByLabelText('Notes of version 4'),
      'more memory for db',
    );
    await replace(screen.getByLabelText('Description'), 'web, app and db');
    await userEvent.click(screen.getByRole('button', { name: 'Save' }));

    await waitFor(() =>
      expect(screen.getByLabelText('location')).toHaveTextContent(
        `/stage-manager/configurations/${SHOP_STACK_ID}`,
      ),
    );
    expect(api.updateConfiguration).toHaveBeenCalledWith(SHOP_STACK_ID, {
      description: 'web, app and db',
    });
    expect(api.addConfigurationVersion).toHaveBeenCalledWith(SHOP_STACK_ID, {
      basedOnVersion: 3,
      notes: 'more memory for db',
      machines: [
        { name: 'web', template: 'debian-12', tier: 'web', startOrder: 2 },
        {
          name: 'app',
          template: 'debian-12',
          tier: 'app',
          startOrder: 1,
          vcpus: 4,
        },
        {
          name: 'db',
          template: 'postgres-16',
          tier: 'db',
          startOrder: 0,
          memoryMiB: 16384,
        },
        { name: 'debian-12', template: 'debian-12', startOrder: 0 },
      ],
    });
  });

  it("disables Save while saving and shows the backend's refusal", async () => {
    let reject: (e: Error) => void = () => {};
    const api = createApi({
      addConfigurationVersion: jest.fn(
        () =>
          new Promise<ConfigurationVersion>((_, r) => {
            reject = r;
          }),
      ),
      updateConfiguration: jest.fn(),
    });
    renderEditor(api, `/stage-manager/configurations/${SHOP_STACK_ID}/edit`);

    await screen.findByRole('heading', { name: 'Edit shop-stack' });
    await replace(field(1, 'Tier'), 'frontend');
    await userEvent.click(screen.getByRole('button', { name: 'Save' }));

    await waitFor(() =>
      expect(screen.getByRole('button', { name: 'Save' })).toBeDisabled(),
    );
    expect(api.addConfigurationVersion).toHaveBeenCalledTimes(1);
    reject(
      await responseError(
        409,
        'Conflict',
        'ConflictError',
        'Version 3 is no longer the latest version of shop-stack: reload and apply the change again',
      ),
    );

    expect(await screen.findByRole('alert')).toHaveTextContent(
      'Could not save: Version 3 is no longer the latest version of shop-stack: reload and apply the change again',
    );
    expect(screen.getByRole('button', { name: 'Save' })).toBeEnabled();
    expect(api.updateConfiguration).not.toHaveBeenCalled();
    expect(screen.getByLabelText('location')).toHaveTextContent(
      `/stage-manager/configurations/${SHOP_STACK_ID}/edit`,
    );
  });

  it('creates no version when nothing changed', async () => {
    const api = createApi({
      addConfigurationVersion: jest.fn(),
      updateConfiguration: jest.fn(),
    });
    renderEditor(api, `/stage-manager/configurations/${SHOP_STACK_ID}/edit`);

    await screen.findByRole('heading', { name: 'Edit shop-stack' });
    await userEvent.click(screen.getByRole('button', { name: 'Save' }));

    expect(
      await screen.findByText(
        'Nothing changed: there is no new version to save.',
      ),
    ).toBeInTheDocument();
    expect(api.addConfigurationVersion).not.toHaveBeenCalled();
    expect(api.updateConfiguration).not.toHaveBeenCalled();
  });

  it('shows why the configuration cannot be loaded', async () => {
    const api = createApi();
    renderEditor(api, '/stage-manager/configurations/nope/edit');

    expect(await screen.findByRole('alert')).toHaveTextContent(
      "No configuration 'nope'",
    );
    expect(screen.queryByRole('button', { name: 'Save' })).toBeNull();
  });
});
