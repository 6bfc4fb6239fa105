import { parseEntityRef } from '@backstage/catalog-model';
import { useRouteRef } from '@backstage/frontend-plugin-api';
import { rootRouteRef } from '../routes';

/** `?service=<entityRef>`, or nothing without a service. */
function serviceQuery(serviceRef?: string): string {
  return serviceRef ? `?service=${encodeURIComponent(serviceRef)}` : '';
}

/** Builds links between Stage Manager's pages (relative to where the plugin is mounted). */
export function useStageManagerLinks() {
  const root = useRouteRef(rootRouteRef);
  const base = (root?.() ?? '/stage-manager').replace(/\/$/, '');
  return {
    board: () => base || '/',
    service: (entityRef: string) => {
      const { kind, namespace, name } = parseEntityRef(entityRef);
      return `${base}/services/${[kind, namespace, name]
        .map(encodeURIComponent)
        .join('/')}`;
    },
    consoles: (deploymentId: string) =>
      `${base}/deployments/${encodeURIComponent(deploymentId)}/consoles`,
    /** The configurations of all services, or of one service. */
    configurations: (serviceRef?: string) =>
      `${base}/configurations${serviceQuery(serviceRef)}`,
    configuration: (id: string) =>
      `${base}/configurations/${encodeURIComponent(id)}`,
    editConfiguration: (id: string) =>
      `${base}/configurations/${encodeURIComponent(id)}/edit`,
    /** The editor of a new configuration, for a service when given. */
    newConfiguration: (serviceRef?: string) =>
      `${base}/configurations/new${serviceQuery(serviceRef)}`,
    templates: () => `${base}/templates`,
    usage: () => `${base}/usage`,
    storage: (pool?: string) =>
      `${base}/storage${pool ? `?pool=${encodeURIComponent(pool)}` : ''}`,
  };
}
