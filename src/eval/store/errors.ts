// Errors of stored evaluations, queries and reports. `code` matches the API's error codes, so the
// transports (and the CLI's exit status) map them without parsing messages.
export type EvalStoreErrorCode = 'BAD_INPUT' | 'NOT_FOUND' | 'INTERNAL';

export class EvalStoreError extends Error {
  constructor(
    message: string,
    readonly code: EvalStoreErrorCode = 'BAD_INPUT',
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'EvalStoreError';
  }
}
