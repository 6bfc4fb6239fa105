import { renderInTestApp } from '@backstage/frontend-test-utils';
import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { StageManagerApi, stageManagerApiRef } from '../../api';
import { rootRouteRef } from '../../routes';
import { StageManagerPage } from '../StageManagerPage';
import { SHOP_STACK_ID, createApi } from './testFixtures';

// Rendering pages is slow on a busy 2-core CI machine (guests boot in parallel).
jest.setTimeout(30_000);

function renderApp(api: StageManagerApi, url: string) {
  return renderInTestApp(<StageManagerPage />, {
    apis: [[stageManagerApiRef, api]],
    mountPath: '/stage-manager',
    mountedRoutes: { '/stage-manager': rootRouteRef },
    initialRouteEntries: [url],
  });
}

function tabs(): string[] {
  return screen.getAllByRole('tab').map(tab => tab.textContent ?? '');
}

function selectedTab(): string | null {
  return screen
    .getAllByRole('tab')
    .find(tab => tab.getAttribute('aria-selected') === 'true')!.textContent;
}

describe('Configurations and templates in the Stage Manager page', () => {
  it('has their tabs after Overview', async () => {
    renderApp(createApi(), '/stage-manager/configurations');

    expect(
      await screen.findByRole('heading', { name: 'Configurations' }),
    ).toBeInTheDocument();
    expect(tabs()).toEqual([
      'Overview',
      'Configurations',
      'Templates',
      'Usage',
      'Storage',
    ]);
    expect(selectedTab()).toBe('Configurations');
  });

  it.each([
    [`/stage-manager/configurations/${SHOP_STACK_ID}`, 'shop-stack'],
    [`/stage-manager/configurations/${SHOP_STACK_ID}/edit`, 'Edit shop-stack'],
    ['/stage-manager/configurations/new', 'New configuration'],
  ])('keeps the Configurations tab on %s', async (url, heading) => {
    renderApp(createApi(), url);

    expect(
      await screen.findByRole('heading', { name: heading }),
    ).toBeInTheDocument();
    expect(selectedTab()).toBe('Configurations');
  });

  it('opens the template catalog from its tab', async () => {
    renderApp(createApi(), '/stage-manager/configurations');
    await screen.findByRole('heading', { name: 'Configurations' });

    await userEvent.click(screen.getByRole('tab', { name: 'Templates' }));

    expect(
      await screen.findByRole('table', { name: 'Templates' }),
    ).toBeInTheDocument();
    await waitFor(() => expect(selectedTab()).toBe('Templates'));
  });
});
