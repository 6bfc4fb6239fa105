import {
  createExternalRouteRef,
  createRouteRef,
} from '@backstage/frontend-plugin-api';

/** Route of the Stage Manager services page. @public */
export const rootRouteRef = createRouteRef();

/**
 * Route of a catalog entity's page, bound by default to the catalog plugin's entity page. Links
 * to entities render as plain text when it is not bound.
 *
 * @public
 */
export const catalogEntityRouteRef = createExternalRouteRef({
  params: ['namespace', 'kind', 'name'],
  defaultTarget: 'catalog.catalogEntity',
});
