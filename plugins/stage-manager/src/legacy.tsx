/**
 * Stage Manager for apps still on the legacy frontend system (`createApp` from
 * `@backstage/app-defaults`): import from `@internal/plugin-stage-manager/legacy`.
 *
 * The components are written for the new frontend system; `compatWrapper` gives them what they
 * need there (the route resolution behind `useRouteRef` of `@backstage/frontend-plugin-api`),
 * answered by the legacy app's routing.
 *
 * @packageDocumentation
 */
import {
  compatWrapper,
  convertLegacyRouteRef,
} from '@backstage/core-compat-api';
import {
  createApiFactory,
  createComponentExtension,
  createPlugin,
  createRoutableExtension,
  discoveryApiRef,
  fetchApiRef,
  identityApiRef,
} from '@backstage/core-plugin-api';
import { StageManagerClient, stageManagerApiRef } from './api';
import { catalogEntityRouteRef, rootRouteRef } from './routes';

export { isStageManagerAvailable } from './isStageManagerAvailable';
export { stageManagerApiRef, StageManagerClient } from './api';
export type { StageManagerApi } from './api';

/**
 * Where the app mounts {@link StageManagerPage}. It is the new system's route ref made usable by
 * the legacy app as well, so the links between Stage Manager's pages (and from the entity tab to
 * them) follow wherever the app mounts the page.
 *
 * @public
 */
export const stageManagerRouteRef = convertLegacyRouteRef(rootRouteRef);

/**
 * The page of a catalog entity, for links to services, owners and approvers. Bind it to the
 * catalog's entity page in `bindRoutes`; unbound, entity names show as plain text.
 *
 * @public
 */
export const stageManagerCatalogEntityRouteRef = convertLegacyRouteRef(
  catalogEntityRouteRef,
);

/**
 * The Stage Manager plugin for legacy apps: its API client, its page's route and its link to
 * catalog entities.
 *
 * @public
 */
export const stageManagerLegacyPlugin = createPlugin({
  id: 'stage-manager',
  apis: [
    createApiFactory({
      api: stageManagerApiRef,
      deps: {
        discoveryApi: discoveryApiRef,
        fetchApi: fetchApiRef,
        identityApi: identityApiRef,
      },
      factory: ({ discoveryApi, fetchApi, identityApi }) =>
        new StageManagerClient({ discoveryApi, fetchApi, identityApi }),
    }),
  ],
  routes: { root: stageManagerRouteRef },
  externalRoutes: { catalogEntity: stageManagerCatalogEntityRouteRef },
});

/**
 * The Stage Manager page (overview board, service pages, consoles, usage, storage), to mount on
 * a route of the app, e.g. `<Route path="/stage-manager" element={<StageManagerPage />} />`.
 *
 * @public
 */
export const StageManagerPage = stageManagerLegacyPlugin.provide(
  createRoutableExtension({
    name: 'StageManagerPage',
    mountPoint: stageManagerRouteRef,
    component: () =>
      import('./components/StageManagerPage').then(m => {
        const LegacyStageManagerPage = () =>
          compatWrapper(<m.StageManagerPage />);
        return LegacyStageManagerPage;
      }),
  }),
);

/**
 * The "Stage Manager" tab of a catalog entity page: the entity's pipeline, operations, approvals
 * and audit log. Show it for entities for which {@link isStageManagerAvailable} is true.
 *
 * @public
 */
export const EntityStageManagerContent = stageManagerLegacyPlugin.provide(
  createComponentExtension({
    name: 'EntityStageManagerContent',
    component: {
      lazy: () =>
        import('./components/ServicePage').then(m => {
          const LegacyEntityStageManagerContent = () =>
            compatWrapper(<m.EntityStageManagerContent />);
          return LegacyEntityStageManagerContent;
        }),
    },
  }),
);
