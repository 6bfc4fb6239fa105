import { CodeSnippet, EmptyState } from '@backstage/core-components';
import {
  ANNOTATION_POOLS,
  ANNOTATION_STAGES,
  ANNOTATION_WORKFLOW,
} from '@internal/plugin-stage-manager-common';

const EXAMPLE = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: shop
  annotations:
    ${ANNOTATION_WORKFLOW}: default
    # optional: pick a pool per stage
    # ${ANNOTATION_POOLS}: integration=lab; production=prod-east
spec:
  type: service
  owner: team-a
  lifecycle: production
`;

/**
 * Shown when no catalog entity is opted into Stage Manager: explains the annotations.
 *
 * @public
 */
export function NoServicesEmptyState() {
  return (
    <EmptyState
      missing="info"
      title="No services use Stage Manager yet"
      description={
        <>
          A Component or System appears here once its catalog-info.yaml has the{' '}
          <code>{ANNOTATION_WORKFLOW}</code> annotation naming a workflow from
          app-config (for example <code>default</code>), or the{' '}
          <code>{ANNOTATION_STAGES}</code> annotation listing its stages in
          order.
        </>
      }
      action={<CodeSnippet language="yaml" text={EXAMPLE} showCopyCodeButton />}
    />
  );
}
