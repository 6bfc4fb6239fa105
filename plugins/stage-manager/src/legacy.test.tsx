import '@testing-library/jest-dom';
import { Entity } from '@backstage/catalog-model';
import { identityApiRef } from '@backstage/core-plugin-api';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { permissionApiRef } from '@backstage/plugin-permission-react';
import { signalApiRef } from '@backstage/plugin-signals-react';
import {
  mockApis,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/test-utils';
import { screen, waitFor, within } from '@testing-library/react';
import { ReactNode } from 'react';
import { Route, Routes } from 'react-router-dom';
import { StageManagerApi } from './api';
import { createApi, IDS } from './components/ServicePage/testFixtures';
import {
  EntityStageManagerContent,
  isStageManagerAvailable,
  stageManagerApiRef,
  stageManagerLegacyPlugin,
  StageManagerPage,
  stageManagerRouteRef,
} from './legacy';

// Rendering pages is slow on a busy 2-core CI machine (guests boot in parallel).
jest.setTimeout(30_000);

function entity(annotations: Record<string, string>): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name: 'shop', namespace: 'default', annotations },
    spec: { type: 'service', owner: 'team-a', lifecycle: 'production' },
  };
}

/** The APIs a legacy app provides (its test app has none of these), with a fake backend. */
function Apis(props: { api: StageManagerApi; children: ReactNode }) {
  return (
    <TestApiProvider
      apis={[
        [stageManagerApiRef, props.api],
        [identityApiRef, mockApis.identity()],
        [
          permissionApiRef,
          mockApis.permission({ authorize: AuthorizeResult.ALLOW }),
        ],
        [signalApiRef, { subscribe: () => ({ unsubscribe: () => {} }) }],
      ]}
    >
      {props.children}
    </TestApiProvider>
  );
}

describe('legacy frontend system exports', () => {
  it('declares the plugin with its API, route and external route', () => {
    expect(stageManagerLegacyPlugin.getId()).toBe('stage-manager');
    expect([...stageManagerLegacyPlugin.getApis()].map(f => f.api.id)).toEqual([
      stageManagerApiRef.id,
    ]);
    expect(stageManagerLegacyPlugin.routes.root).toBe(stageManagerRouteRef);
    expect(stageManagerLegacyPlugin.externalRoutes.catalogEntity).toBeDefined();
  });

  it('renders the board on the page, with links below wherever the app mounts it', async () => {
    const api = createApi({
      getBoard: async () => ({
        items: [
          {
            service: {
              entityRef: 'component:default/shop',
              kind: 'component',
              namespace: 'default',
              name: 'shop',
              title: 'Shop',
              workflow: 'default',
              stages: [],
              problems: [],
            },
            cells: [],
          },
        ],
        totalCount: 1,
      }),
    });
    await renderInTestApp(
      <Apis api={api}>
        <Routes>
          <Route path="/releases/*" element={<StageManagerPage />} />
        </Routes>
      </Apis>,
      {
        routeEntries: ['/releases'],
        mountedRoutes: { '/releases': stageManagerRouteRef },
      },
    );

    expect(
      await screen.findByRole('table', { name: 'Overview board' }),
    ).toBeInTheDocument();
    expect(api.getBoard).toHaveBeenCalled();
    expect(screen.getByRole('link', { name: 'Shop' })).toHaveAttribute(
      'href',
      '/releases/services/component/default/shop',
    );
    expect(
      screen.getByRole('tablist', { name: 'Stage Manager sections' }),
    ).toBeInTheDocument();
  });

  it('renders the entity content for an annotated entity', async () => {
    const api = createApi();
    const shop = entity({ 'stage-manager.io/workflow': 'default' });
    expect(isStageManagerAvailable(shop)).toBe(true);

    await renderInTestApp(
      <Apis api={api}>
        <EntityProvider entity={shop}>
          <EntityStageManagerContent />
        </EntityProvider>
      </Apis>,
      { mountedRoutes: { '/releases': stageManagerRouteRef } },
    );

    expect(await screen.findByText('Shop')).toBeInTheDocument();
    expect(api.getService).toHaveBeenCalledWith('component:default/shop');
    // Links into Stage Manager follow the page's mount point.
    const test = screen.getByRole('group', { name: 'Deployment 22222222' });
    expect(
      within(test).getByRole('link', { name: 'Consoles' }),
    ).toHaveAttribute('href', `/releases/deployments/${IDS.test}/consoles`);
    // usePermission answers in the legacy app too.
    await waitFor(() =>
      expect(
        within(test).getByRole('button', { name: 'Promote' }),
      ).toBeEnabled(),
    );
  });

  it('shows the tab only for entities opted into Stage Manager', () => {
    expect(
      isStageManagerAvailable(
        entity({ 'stage-manager.io/stages': 'integration, production' }),
      ),
    ).toBe(true);
    expect(
      isStageManagerAvailable(entity({ 'backstage.io/techdocs-ref': 'dir:.' })),
    ).toBe(false);
    expect(isStageManagerAvailable(entity({}))).toBe(false);
  });
});
