import { ResponseError } from '@backstage/errors';

/** A `ResponseError` as the client throws it for a backend error. */
export async function responseError(
  status: number,
  statusText: string,
  name: string,
  message: string,
): Promise<ResponseError> {
  return ResponseError.fromResponse({
    ok: false,
    status,
    statusText,
    headers: { get: () => 'application/json; charset=utf-8' },
    text: async () =>
      JSON.stringify({
        error: { name, message },
        request: { method: 'POST', url: '/api/stage-manager/x' },
        response: { statusCode: status },
      }),
  } as unknown as Response);
}
