import { stringifyEntityRef } from '@backstage/catalog-model';
import { useParams } from 'react-router-dom';
import { ServiceView } from './ServiceView';

/**
 * The page of one service, at `/services/:kind/:namespace/:name` below the plugin's mount point.
 *
 * @public
 */
export function ServicePage() {
  const { kind = '', namespace = '', name = '' } = useParams();
  const entityRef = stringifyEntityRef({ kind, namespace, name });
  return <ServiceView key={entityRef} entityRef={entityRef} />;
}
