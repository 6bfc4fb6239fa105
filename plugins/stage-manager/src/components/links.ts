import { parseEntityRef } from '@backstage/catalog-model';
import { useRouteRef } from '@backstage/frontend-plugin-api';
import { rootRouteRef } from '../routes';

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
    usage: () => `${base}/usage`,
    storage: (pool?: string) =>
      `${base}/storage${pool ? `?pool=${encodeURIComponent(pool)}` : ''}`,
  };
}
