/** What a refused scan request got wrong. */
export type ScanRequestProblem = 'column' | 'filter' | 'limit';

/**
 * A scan request that cannot be served as asked: an unknown column, a malformed filter, a bad
 * limit. The message names the problem; a service answers it as a client error
 * (INVALID_ARGUMENT, HTTP 400), not as its own failure.
 */
export class ScanRequestError extends Error {
  override readonly name = 'ScanRequestError';

  constructor(
    readonly problem: ScanRequestProblem,
    message: string,
  ) {
    super(message);
  }
}
