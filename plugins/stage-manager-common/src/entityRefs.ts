import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';

/**
 * Entity refs are case-insensitive in Backstage. Stage Manager stores and compares them in one
 * form, `kind:namespace/name` in lower case, so filters and permission rules match regardless of
 * how a ref was written.
 *
 * @public
 */
export function normalizeEntityRef(ref: string): string {
  return stringifyEntityRef(
    parseEntityRef(ref, { defaultNamespace: 'default' }),
  ).toLocaleLowerCase('en-US');
}
