import { isError } from '@backstage/errors';

/**
 * The message to show for a failed request. A `ResponseError`'s own message only has the HTTP
 * status; the backend's reason is in its cause.
 */
export function errorMessage(error: unknown): string {
  if (!isError(error)) {
    return String(error);
  }
  if (error.name === 'ResponseError' && isError(error.cause)) {
    return error.cause.message;
  }
  return error.message;
}

/** Title of a `ResponseErrorPanel`: the status and the backend's reason. */
export function errorTitle(error: Error): string | undefined {
  if (isError(error.cause) && error.name === 'ResponseError') {
    return `${error.message}: ${error.cause.message}`;
  }
  return undefined;
}
