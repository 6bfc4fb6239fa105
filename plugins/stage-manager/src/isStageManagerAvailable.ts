import { Entity } from '@backstage/catalog-model';
import {
  ANNOTATION_STAGES,
  ANNOTATION_WORKFLOW,
} from '@internal/plugin-stage-manager-common';

/**
 * Whether a catalog entity is opted into Stage Manager: it has the `stage-manager.io/workflow`
 * or the `stage-manager.io/stages` annotation. Decides where the "Stage Manager" entity tab shows,
 * in the new frontend system and in legacy apps alike.
 *
 * @public
 */
export function isStageManagerAvailable(entity: Entity): boolean {
  const annotations = entity.metadata.annotations;
  return Boolean(
    annotations?.[ANNOTATION_WORKFLOW] || annotations?.[ANNOTATION_STAGES],
  );
}
