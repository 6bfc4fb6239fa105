import { InputError } from '@backstage/errors';
import { z } from 'zod';

/**
 * Parses request input with a zod schema. A failure is an InputError (400) whose message names
 * every bad field by its path, e.g. `Invalid request body: machines.0.template: ...`.
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: 'body' | 'query' | 'path',
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const details = result.error.issues
    .map(issue => {
      const path = issue.path.join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
  throw new InputError(`Invalid request ${where}: ${details}`);
}
