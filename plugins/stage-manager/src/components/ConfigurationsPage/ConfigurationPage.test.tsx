import { renderInTestApp } from '@backstage/frontend-test-utils';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Route, Routes, useLocation } from 'react-router-dom';
import { StageManagerApi, stageManagerApiRef } from '../../api';
import { rootRouteRef } from '../../routes';
import { ConfigurationPage } from './ConfigurationPage';
import { SHOP_STACK_ID, createApi } from './testFixtures';

// Rendering pages is slow on a busy 2-core CI machine (guests boot in parallel).
jest.setTimeout(30_000);

function CurrentQuery() {
  return <output aria-label="query">{useLocation().search}</output>;
}

function renderPage(api: StageManagerApi, url: string) {
  return renderInTestApp(
    <>
      <Routes>
        <Route
          path="/stage-manager/configurations/:id"
          element={<ConfigurationPage />}
        />
      </Routes>
      <CurrentQuery />
    </>,
    {
      apis: [[stageManagerApiRef, api]],
      mountedRoutes: { '/stage-manager': rootRouteRef },
      initialRouteEntries: [url],
    },
  );
}

function rowsOf(table: HTMLElement): string[][] {
  return within(table)
    .getAllByRole('row')
    .slice(1)
    .map(row => [...row.children].map(cell => cell.textContent ?? ''));
}

/** The machine changes shown, as `name kind`. */
function changes(from: number, to: number): string[] {
  const list = screen.getByRole('list', {
    name: `Machine changes from version ${from} to version ${to}`,
  });
  return [...list.children].map(li => li.getAttribute('aria-label') ?? '');
}

const URL = `/stage-manager/configurations/${SHOP_STACK_ID}`;

describe('ConfigurationPage', () => {
  it("shows the latest version's machines with their resources", async () => {
    const api = createApi();
    renderPage(api, URL);

    expect(
      await screen.findByRole('heading', { name: 'shop-stack' }),
    ).toBeInTheDocument();
    expect(api.getConfiguration).toHaveBeenCalledWith(SHOP_STACK_ID);
    expect(screen.getByText('web, app and db tiers')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'shop' })).toHaveAttribute(
      'href',
      '/stage-manager/services/component/default/shop',
    );
    expect(screen.getByRole('button', { name: 'Edit' })).toHaveAttribute(
      'href',
      `/stage-manager/configurations/${SHOP_STACK_ID}/edit`,
    );

    const machines = screen.getByRole('table', { name: 'Machines' });
    // In start order; sizes the machines leave unset come from their templates.
    await waitFor(() =>
      expect(rowsOf(machines)).toEqual([
        [
          'db',
          'PostgreSQL 16 (postgres-16)',
          'db',
          '0',
          '4from template',
          '8192',
          '60from template',
        ],
        [
          'app',
          'Debian 12 (debian-12)',
          'app',
          '1',
          '4',
          '2048from template',
          '10from template',
        ],
        [
          'queue',
          'Debian 12 (debian-12)',
          '',
          '1',
          '2from template',
          '2048from template',
          '10from template',
        ],
        [
          'web',
          'Debian 12 (debian-12)',
          'web',
          '2',
          '2from template',
          '2048from template',
          '10from template',
        ],
      ]),
    );
    expect(
      screen.getByText('12 vCPU, 14 GiB, 90 GiB disk'),
    ).toBeInTheDocument();
  });

  it('lists the versions newest first', async () => {
    const api = createApi();
    renderPage(api, URL);

    const versions = await screen.findByRole('table', { name: 'Versions' });
    await waitFor(() => expect(rowsOf(versions)).toHaveLength(3));
    expect(rowsOf(versions).map(row => row.slice(0, 4))).toEqual([
      ['3 (latest)', 'bigger app and db, queue instead of cache', '4', 'bob'],
      ['2', 'app tier and a cache', '4', 'alice'],
      ['1', '', '2', 'alice'],
    ]);
    expect(api.listConfigurationVersions).toHaveBeenCalledWith(SHOP_STACK_ID, {
      limit: 10,
      offset: 0,
    });
  });

  it('compares the previous version with the latest by default', async () => {
    const api = createApi();
    renderPage(api, URL);

    await screen.findByRole('list', {
      name: 'Machine changes from version 2 to version 3',
    });
    expect(changes(2, 3)).toEqual([
      'web changed',
      'app changed',
      'db changed',
      'queue added',
      'cache removed',
    ]);
    expect(api.getConfigurationVersion).toHaveBeenCalledWith(SHOP_STACK_ID, 2);
    expect(screen.getByLabelText('From')).toHaveValue('2');
    expect(screen.getByLabelText('To')).toHaveValue('3');

    // Field by field, before and after; unset sizes name the template's value.
    expect(
      rowsOf(screen.getByRole('table', { name: 'Changes of machine db' })),
    ).toEqual([['Memory', 'from template (4 GiB)', '8 GiB']]);
    expect(
      rowsOf(screen.getByRole('table', { name: 'Changes of machine web' })),
    ).toEqual([['Start order', '1', '2']]);
    expect(
      rowsOf(screen.getByRole('table', { name: 'Changes of machine app' })),
    ).toEqual([['vCPU', '2', '4']]);
    expect(
      within(screen.getByRole('listitem', { name: 'queue added' })).getByText(
        /^Template: debian-12 · Start order: 1 · vCPU: from template \(2\)/,
      ),
    ).toBeInTheDocument();
    expect(
      screen.getByText('app tier and a cache', { selector: 'span' }),
    ).toBeInTheDocument();
  });

  it('compares any two versions picked', async () => {
    const api = createApi();
    renderPage(api, URL);
    await screen.findByRole('list', {
      name: 'Machine changes from version 2 to version 3',
    });

    await userEvent.selectOptions(screen.getByLabelText('From'), '1');

    await screen.findByRole('list', {
      name: 'Machine changes from version 1 to version 3',
    });
    expect(changes(1, 3)).toEqual([
      'web changed',
      'app added',
      'db changed',
      'queue added',
    ]);
    expect(api.getConfigurationVersion).toHaveBeenCalledWith(SHOP_STACK_ID, 1);
    expect(screen.getByLabelText('query')).toHaveTextContent('?from=1&to=3');

    await userEvent.click(
      screen.getByRole('button', {
        name: 'Compare version 2 with version 1',
      }),
    );
    await screen.findByRole('list', {
      name: 'Machine changes from version 1 to version 2',
    });
    expect(changes(1, 2)).toEqual(['app added', 'cache added']);
    expect(screen.getByText('Unchanged: web, db')).toBeInTheDocument();
  });

  it('opens the versions named in the URL', async () => {
    const api = createApi();
    renderPage(api, `${URL}?from=3&to=1`);

    await screen.findByRole('list', {
      name: 'Machine changes from version 3 to version 1',
    });
    expect(changes(3, 1)).toEqual([
      'web changed',
      'db changed',
      'app removed',
      'queue removed',
    ]);
  });

  it("shows the backend's error", async () => {
    const api = createApi();
    renderPage(api, '/stage-manager/configurations/nope');

    expect(await screen.findByRole('alert')).toHaveTextContent(
      "No configuration 'nope'",
    );
    expect(screen.queryByRole('table')).not.toBeInTheDocument();
  });
});
