import { TestApiProvider, mockApis } from '@backstage/frontend-test-utils';
import {
  analyticsApiRef,
  configApiRef,
  discoveryApiRef,
  errorApiRef,
  storageApiRef,
  translationApiRef,
} from '@backstage/frontend-plugin-api';
import { render, screen, waitFor } from '@testing-library/react';
import { MemoryRouter } from 'react-router-dom';
import { UnifiedThemeProvider, themes } from '@backstage/theme';
import userEvent from '@testing-library/user-event';
import {
  DEMO_USER_STORAGE_KEY,
  StageManagerSignInPage,
} from './StageManagerSignInPage';

jest.setTimeout(30_000);

const identityResponse = {
  providerInfo: {},
  profile: { displayName: 'bob' },
  backstageIdentity: {
    token: 'header.eyJzdWIiOiJ1c2VyOmRlZmF1bHQvYm9iIn0.signature',
    identity: {
      type: 'user',
      userEntityRef: 'user:default/bob',
      ownershipEntityRefs: ['user:default/bob', 'group:default/qa'],
    },
  },
};

/** The sign-in page renders before the app exists: only its APIs, no app shell. */
function renderPage(element: JSX.Element, config: Record<string, unknown>) {
  return render(
    <TestApiProvider
      apis={[
        [
          configApiRef,
          mockApis.config({ data: { app: { title: 'Test' }, ...config } }),
        ],
        [
          discoveryApiRef,
          {
            getBaseUrl: async (pluginId: string) =>
              `http://localhost:7007/api/${pluginId}`,
          },
        ],
        [translationApiRef, mockApis.translation()],
        [errorApiRef, mockApis.error()],
        [analyticsApiRef, mockApis.analytics()],
        [storageApiRef, mockApis.storage()],
      ]}
    >
      <UnifiedThemeProvider theme={themes.light}>
        <MemoryRouter>{element}</MemoryRouter>
      </UnifiedThemeProvider>
    </TestApiProvider>,
  );
}

describe('StageManagerSignInPage', () => {
  const originalFetch = global.fetch;
  let fetchMock: jest.Mock;

  beforeEach(() => {
    window.sessionStorage.clear();
    fetchMock = jest.fn(async () => ({
      ok: true,
      status: 200,
      json: async () => identityResponse,
    }));
    global.fetch = fetchMock as unknown as typeof fetch;
  });
  afterEach(() => {
    global.fetch = originalFetch;
  });

  it('signs in as the catalog user typed in, through the demo provider', async () => {
    const onSignInSuccess = jest.fn();
    renderPage(<StageManagerSignInPage onSignInSuccess={onSignInSuccess} />, {
      backend: { baseUrl: 'http://localhost:7007' },
    });

    expect(await screen.findByText('Guest')).toBeInTheDocument();
    const signIn = screen.getByRole('button', { name: 'Sign in as user' });
    expect(signIn).toBeDisabled();
    await userEvent.type(screen.getByLabelText('Catalog user name'), 'Bob');
    expect(signIn).toBeEnabled();
    await userEvent.click(signIn);

    await waitFor(() => expect(onSignInSuccess).toHaveBeenCalled());
    const [url, init] = fetchMock.mock.calls[0];
    expect(String(url)).toMatch(/\/api\/auth\/demo\/refresh$/);
    expect(new Headers(init.headers).get('x-stage-manager-demo-user')).toBe(
      'bob',
    );
    expect(window.sessionStorage.getItem(DEMO_USER_STORAGE_KEY)).toBe('bob');

    const identity = onSignInSuccess.mock.calls[0][0];
    expect((await identity.getBackstageIdentity()).userEntityRef).toBe(
      'user:default/bob',
    );
  });

  it('offers only the guest outside development', async () => {
    renderPage(<StageManagerSignInPage onSignInSuccess={jest.fn()} />, {
      auth: { environment: 'production' },
      backend: { baseUrl: 'http://localhost:7007' },
    });
    expect(await screen.findByText('Guest')).toBeInTheDocument();
    expect(
      screen.queryByRole('button', { name: 'Sign in as user' }),
    ).not.toBeInTheDocument();
    expect(fetchMock).not.toHaveBeenCalledWith(
      expect.stringMatching(/demo/),
      expect.anything(),
    );
  });
});
