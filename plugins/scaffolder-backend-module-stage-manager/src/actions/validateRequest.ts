import { InputError } from '@backstage/errors';

/** The part of a zod schema this module uses; fits the schemas of stage-manager-common. */
interface RequestSchema<T> {
  safeParse(value: unknown):
    | { success: true; data: T }
    | {
        success: false;
        error: {
          issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>;
        };
      };
}

/**
 * Checks a request body against the schema the Stage Manager backend validates it with, so a
 * bad input fails before anything is sent (and a dry run reports it).
 */
export function validateRequest<T>(
  schema: RequestSchema<T>,
  value: unknown,
  request: string,
): T {
  const result = schema.safeParse(value);
  if (result.success) {
    return result.data;
  }
  const problems = result.error.issues
    .map(issue =>
      issue.path.length
        ? `${issue.path.map(String).join('.')}: ${issue.message}`
        : issue.message,
    )
    .join('; ');
  throw new InputError(`Invalid input for ${request}: ${problems}`);
}

/** Template expressions of optional parameters render as empty strings; treat them as unset. */
export function optionalText(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
