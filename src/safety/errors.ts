// Errors of the safety audit. `code` matches the API's error codes, so transports map them without
// parsing messages.
export type SafetyErrorCode = 'BAD_INPUT' | 'NOT_FOUND';

export class SafetyError extends Error {
  constructor(
    message: string,
    readonly code: SafetyErrorCode = 'BAD_INPUT',
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'SafetyError';
  }
}
