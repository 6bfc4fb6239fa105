import {
  ApiBlueprint,
  PageBlueprint,
  createFrontendPlugin,
  discoveryApiRef,
  fetchApiRef,
  identityApiRef,
} from '@backstage/frontend-plugin-api';
import { EntityContentBlueprint } from '@backstage/plugin-catalog-react/alpha';
import LayersIcon from '@material-ui/icons/Layers';
import { StageManagerClient, stageManagerApiRef } from './api';
import { isStageManagerAvailable } from './isStageManagerAvailable';
import { catalogEntityRouteRef, rootRouteRef } from './routes';

/** The Stage Manager API client. Extension id: `api:stage-manager`. */
export const stageManagerApi = ApiBlueprint.make({
  params: defineParams =>
    defineParams({
      api: stageManagerApiRef,
      deps: {
        discoveryApi: discoveryApiRef,
        fetchApi: fetchApiRef,
        identityApi: identityApiRef,
      },
      factory: ({ discoveryApi, fetchApi, identityApi }) =>
        new StageManagerClient({ discoveryApi, fetchApi, identityApi }),
    }),
});

/**
 * The Stage Manager page at `/stage-manager` (overview board, service pages, consoles, usage,
 * storage). Extension id: `page:stage-manager`.
 *
 * Its title, icon and route ref also make it the app's nav item: the nav in 1.55 is built from
 * page extensions, there is no separate nav item extension.
 */
export const stageManagerPage = PageBlueprint.make({
  params: {
    path: '/stage-manager',
    title: 'Stage Manager',
    icon: <LayersIcon fontSize="inherit" />,
    routeRef: rootRouteRef,
    loader: () =>
      import('./components/StageManagerPage').then(m => <m.StageManagerPage />),
  },
});

/**
 * The "Stage Manager" tab of catalog entity pages, for entities opted in with the
 * `stage-manager.io/workflow` or `stage-manager.io/stages` annotation: the service's pipeline,
 * operations, approvals and audit log. Extension id: `entity-content:stage-manager`.
 */
export const stageManagerEntityContent = EntityContentBlueprint.make({
  params: {
    path: 'stage-manager',
    title: 'Stage Manager',
    filter: isStageManagerAvailable,
    loader: () =>
      import('./components/ServicePage').then(m => (
        <m.EntityStageManagerContent />
      )),
  },
});

/**
 * The Stage Manager frontend plugin.
 *
 * @public
 */
export const stageManagerPlugin = createFrontendPlugin({
  pluginId: 'stage-manager',
  title: 'Stage Manager',
  icon: <LayersIcon fontSize="inherit" />,
  info: { packageJson: () => import('../package.json') },
  routes: { root: rootRouteRef },
  externalRoutes: { catalogEntity: catalogEntityRouteRef },
  extensions: [stageManagerApi, stageManagerPage, stageManagerEntityContent],
});
