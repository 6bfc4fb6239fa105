import { parseEntityRef } from '@backstage/catalog-model';
import { humanizeEntityRef } from '@backstage/plugin-catalog-react';
import { DiskSpec } from '@internal/plugin-stage-manager-common';

export { formatMemory, formatTime } from '../shared/format';

/** Disks as `root 10 GiB, data 20 GiB (blank)`. */
export function formatDisks(disks: DiskSpec[]): string {
  return disks
    .map(
      d =>
        `${d.name} ${d.sizeGiB} GiB${d.source === 'blank' ? ' (blank)' : ''}`,
    )
    .join(', ');
}

/** An entity ref as people read it: `shop` for `component:default/shop`. */
export function formatEntityRef(entityRef: string, defaultKind = 'component') {
  try {
    return humanizeEntityRef(parseEntityRef(entityRef), { defaultKind });
  } catch {
    return entityRef;
  }
}
