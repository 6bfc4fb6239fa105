import { parseErrorResponseBody } from '@backstage/errors';

/**
 * A request to the Stage Manager backend that it answered with a non-2xx status. The message
 * carries the backend's own error message, so the task log shows why it refused.
 *
 * @public
 */
export class StageManagerRequestError extends Error {
  /** HTTP status of the response, e.g. 409. */
  readonly statusCode: number;
  /** Name of the backend's error, e.g. `ConflictError` or `NotAllowedError`. */
  readonly errorName: string;
  /** The backend's error message, without the request details. */
  readonly errorMessage: string;

  /** Consumes the body of a failed response. */
  static async fromResponse(
    request: { method: string; path: string },
    response: Response,
  ): Promise<StageManagerRequestError> {
    const body = await parseErrorResponseBody(response);
    return new StageManagerRequestError({
      ...request,
      statusCode: body.response?.statusCode ?? response.status,
      errorName: body.error?.name ?? 'Error',
      errorMessage: body.error?.message || response.statusText,
    });
  }

  constructor(options: {
    method: string;
    path: string;
    statusCode: number;
    errorName: string;
    errorMessage: string;
  }) {
    super(
      `Stage Manager answered ${options.method} ${options.path} with ${options.statusCode} ${options.errorName}: ${options.errorMessage}`,
    );
    this.name = 'StageManagerRequestError';
    this.statusCode = options.statusCode;
    this.errorName = options.errorName;
    this.errorMessage = options.errorMessage;
  }
}
