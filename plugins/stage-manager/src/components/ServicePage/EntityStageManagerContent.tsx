import { stringifyEntityRef } from '@backstage/catalog-model';
import { useEntity } from '@backstage/plugin-catalog-react';
import { ServiceView } from './ServiceView';

/**
 * The "Stage Manager" tab of a catalog entity's page: the {@link ServiceView} of the entity.
 *
 * @public
 */
export function EntityStageManagerContent() {
  const { entity } = useEntity();
  const entityRef = stringifyEntityRef(entity);
  return <ServiceView key={entityRef} entityRef={entityRef} />;
}
