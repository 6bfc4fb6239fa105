import { CompoundEntityRef, parseEntityRef } from '@backstage/catalog-model';
import { Link } from '@backstage/core-components';
import { useRouteRef } from '@backstage/frontend-plugin-api';
import { humanizeEntityRef } from '@backstage/plugin-catalog-react';
import { ReactNode } from 'react';
import { catalogEntityRouteRef } from '../../routes';

/** @public */
export interface CatalogEntityLinkProps {
  /** Entity ref, e.g. `component:default/shop` or `team-a` with a `defaultKind`. */
  entityRef: string;
  /** Kind assumed when the ref has none, and omitted from the default text. */
  defaultKind?: string;
  /** Link text; defaults to the humanized entity ref. */
  children?: ReactNode;
}

function tryParse(
  entityRef: string,
  defaultKind: string | undefined,
): CompoundEntityRef | undefined {
  try {
    return parseEntityRef(entityRef, { defaultKind });
  } catch {
    return undefined;
  }
}

/**
 * Links to an entity's catalog page. Renders plain text when the catalog's entity page is not
 * available in the app or the ref cannot be parsed.
 *
 * @public
 */
export function CatalogEntityLink(props: CatalogEntityLinkProps) {
  const { entityRef, defaultKind, children } = props;
  const entityRoute = useRouteRef(catalogEntityRouteRef);
  const ref = tryParse(entityRef, defaultKind);
  const text =
    children ?? (ref ? humanizeEntityRef(ref, { defaultKind }) : entityRef);

  if (!ref || !entityRoute) {
    return <>{text}</>;
  }

  const to = entityRoute({
    kind: ref.kind.toLocaleLowerCase('en-US'),
    namespace: ref.namespace,
    name: ref.name,
  });
  return <Link to={to}>{text}</Link>;
}
