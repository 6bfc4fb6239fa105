/**
 * Names that end up in hypervisor objects, file names and URLs are restricted to this pattern:
 * lower-case letters, digits and dashes, starting with a letter, at most 63 characters.
 *
 * @public
 */
export const NAME_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;

/** @public */
export const NAME_PATTERN_DESCRIPTION =
  'lower-case letters, digits and dashes, starting with a letter, at most 63 characters';

/** @public */
export function isValidName(value: string): boolean {
  return NAME_PATTERN.test(value);
}
