import { renderInTestApp } from '@backstage/frontend-test-utils';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useLocation } from 'react-router-dom';
import { StageManagerApi, stageManagerApiRef } from '../../api';
import { rootRouteRef } from '../../routes';
import { ConfigurationListPage } from './ConfigurationListPage';
import {
  BILLING,
  BILLING_CORE_ID,
  SHOP,
  SHOP_STACK_ID,
  createApi,
  responseError,
} from './testFixtures';

// Rendering pages is slow on a busy 2-core CI machine (guests boot in parallel).
jest.setTimeout(30_000);

function CurrentLocation() {
  const location = useLocation();
  return (
    <output aria-label="location">{location.pathname + location.search}</output>
  );
}

function renderPage(
  api: StageManagerApi,
  url = '/stage-manager/configurations',
) {
  return renderInTestApp(
    <>
      <ConfigurationListPage />
      <CurrentLocation />
    </>,
    {
      apis: [[stageManagerApiRef, api]],
      mountedRoutes: { '/stage-manager': rootRouteRef },
      initialRouteEntries: [url],
    },
  );
}

/** The cells of the row of a configuration, by its name. */
function rowOf(name: string): string[] {
  const table = screen.getByRole('table', { name: 'Configurations' });
  const row = within(table)
    .getAllByRole('row')
    .find(r => within(r).queryByRole('link', { name }));
  if (!row) {
    throw new Error(`No row ${name}`);
  }
  return [...row.children].map(cell => cell.textContent ?? '');
}

describe('ConfigurationListPage', () => {
  it('lists configurations with their latest version and what its machines add up to', async () => {
    const api = createApi();
    renderPage(api);

    const link = await screen.findByRole('link', { name: 'shop-stack' });
    expect(link).toHaveAttribute(
      'href',
      `/stage-manager/configurations/${SHOP_STACK_ID}`,
    );
    expect(api.listConfigurations).toHaveBeenCalledWith({
      serviceRef: undefined,
      limit: 20,
      offset: 0,
    });
    // web 2 + app 4 + db 4 (template) + queue 2 vCPU; db has 8 GiB of its own.
    await waitFor(() =>
      expect(rowOf('shop-stack').slice(1, 7)).toEqual([
        'shop',
        '3',
        '4',
        '12',
        '14 GiB',
        '90 GiB',
      ]),
    );
    expect(rowOf('shop-stack')[0]).toBe('shop-stackweb, app and db tiers');
    expect(
      within(
        screen.getByRole('table', { name: 'Configurations' }),
      ).getAllByRole('link', { name: 'shop' })[0],
    ).toHaveAttribute('href', '/stage-manager/services/component/default/shop');

    // billing-core's machine uses a template that is not in the catalog: marked incomplete.
    await waitFor(() =>
      expect(rowOf('billing-core').slice(1, 7)).toEqual([
        'billing',
        '1',
        '1',
        '1 *',
        '0 GiB *',
        '0 GiB *',
      ]),
    );
    expect(
      screen.getByText(
        '* Leaves out machines whose template is not in the catalog.',
      ),
    ).toBeInTheDocument();
    expect(api.getConfiguration).toHaveBeenCalledWith(SHOP_STACK_ID);
    expect(api.getConfiguration).toHaveBeenCalledWith(BILLING_CORE_ID);
  });

  it('filters by the service in the URL and writes a new choice to it', async () => {
    const api = createApi();
    renderPage(
      api,
      `/stage-manager/configurations?service=${encodeURIComponent(SHOP)}`,
    );

    expect(
      await screen.findByRole('link', { name: 'shop-stack' }),
    ).toBeInTheDocument();
    expect(api.listConfigurations).toHaveBeenCalledWith({
      serviceRef: SHOP,
      limit: 20,
      offset: 0,
    });
    expect(screen.queryByRole('link', { name: 'billing-core' })).toBeNull();
    await waitFor(() =>
      expect(screen.getByLabelText('Service')).toHaveValue(SHOP),
    );
    expect(
      screen.getByRole('button', { name: 'New configuration' }),
    ).toHaveAttribute(
      'href',
      `/stage-manager/configurations/new?service=${encodeURIComponent(SHOP)}`,
    );

    await userEvent.selectOptions(screen.getByLabelText('Service'), BILLING);

    expect(
      await screen.findByRole('link', { name: 'billing-core' }),
    ).toBeInTheDocument();
    expect(screen.queryByRole('link', { name: 'shop-stack' })).toBeNull();
    expect(api.listConfigurations).toHaveBeenLastCalledWith({
      serviceRef: BILLING,
      limit: 20,
      offset: 0,
    });
    expect(screen.getByLabelText('location')).toHaveTextContent(
      `/stage-manager/configurations?service=${encodeURIComponent(BILLING)}`,
    );

    await userEvent.selectOptions(screen.getByLabelText('Service'), '');
    await waitFor(() =>
      expect(screen.getByLabelText('location')).toHaveTextContent(
        /^\/stage-manager\/configurations$/,
      ),
    );
    expect(
      await screen.findByRole('link', { name: 'shop-stack' }),
    ).toBeInTheDocument();
  });

  it('shows a row whose machines cannot be loaded with the reason', async () => {
    const api = createApi();
    const getConfiguration = api.getConfiguration.getMockImplementation()!;
    api.getConfiguration.mockImplementation(async id => {
      if (id === BILLING_CORE_ID) {
        throw await responseError(
          404,
          'Not Found',
          'NotFoundError',
          `No configuration '${id}'`,
        );
      }
      return getConfiguration(id);
    });
    renderPage(api);

    await waitFor(() =>
      expect(rowOf('billing-core')[3]).toBe(
        `No configuration '${BILLING_CORE_ID}'`,
      ),
    );
    await waitFor(() => expect(rowOf('shop-stack')[3]).toBe('4'));
  });

  it("shows the backend's error", async () => {
    const api = createApi({
      listConfigurations: jest.fn(async () => {
        throw await responseError(
          400,
          'Bad Request',
          'InputError',
          'Invalid request query: serviceRef: must be a full entity ref, kind:namespace/name',
        );
      }),
    });
    renderPage(api, '/stage-manager/configurations?service=shop');

    expect(await screen.findByRole('alert')).toHaveTextContent(
      'Invalid request query: serviceRef: must be a full entity ref, kind:namespace/name',
    );
    expect(
      screen.queryByRole('table', { name: 'Configurations' }),
    ).not.toBeInTheDocument();
  });
});
