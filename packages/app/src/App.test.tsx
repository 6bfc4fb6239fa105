import { renderTestApp } from '@backstage/frontend-test-utils';
import stageManagerPlugin, {
  StageManagerApi,
  stageManagerApiRef,
} from '@internal/plugin-stage-manager';
import {
  NotificationsApi,
  notificationsApiRef,
} from '@backstage/plugin-notifications';
import notificationsPlugin from '@backstage/plugin-notifications/alpha';
import { render, screen, waitFor, within } from '@testing-library/react';
import App from './App';
import { navModule } from './modules/nav';

// Rendering pages is slow on a busy 2-core CI machine (guests boot in parallel).
jest.setTimeout(30_000);

describe('App', () => {
  it('should render', async () => {
    process.env = {
      NODE_ENV: 'test',
      APP_CONFIG: [
        {
          data: {
            app: { title: 'Test' },
            backend: { baseUrl: 'http://localhost:7007' },
          },
          context: 'test',
        },
      ] as any,
    };

    const rendered = render(App.createRoot());

    await waitFor(() => {
      expect(rendered.baseElement).toBeInTheDocument();
    });
  });

  it('shows Stage Manager in the sidebar and serves its page', async () => {
    // Only what the landing page calls; anything else fails the test loudly.
    const stageManagerApi = {
      getBoard: jest.fn(async () => ({ items: [], totalCount: 0 })),
    } as Partial<StageManagerApi> as jest.Mocked<StageManagerApi>;

    // The sidebar's NotificationsSidebarItem needs the notifications plugin and API.
    const notificationsApi: Partial<NotificationsApi> = {
      getStatus: jest.fn(async () => ({ unread: 0, read: 0 })),
    };

    renderTestApp({
      features: [stageManagerPlugin, notificationsPlugin, navModule],
      initialRouteEntries: ['/stage-manager'],
      apis: [
        [stageManagerApiRef, stageManagerApi],
        [notificationsApiRef, notificationsApi as NotificationsApi],
      ],
    });

    const sidebar = await screen.findByTestId('sidebar-root');
    expect(
      within(sidebar).getByRole('link', { name: /Stage Manager/ }),
    ).toHaveAttribute('href', '/stage-manager');
    expect(
      await screen.findByText('No services use Stage Manager yet'),
    ).toBeInTheDocument();
    expect(stageManagerApi.getBoard).toHaveBeenCalled();
  });
});
