// Errors of the label workflow. `code` matches the API's error codes (CONFLICT is the one it lacks so
// far: a stale edit, HTTP 409), so transports can map them without parsing messages.
export type LabelErrorCode = 'BAD_INPUT' | 'NOT_FOUND' | 'CONFLICT' | 'READ_ONLY';

export class LabelError extends Error {
  constructor(
    message: string,
    readonly code: LabelErrorCode = 'BAD_INPUT',
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'LabelError';
  }
}

/** A stale edit: the record changed after the revision the edit started from. */
export class LabelConflictError extends LabelError {
  constructor(
    message: string,
    readonly conflict: {
      labelId?: number;
      detectionId?: number;
      expectedRevision?: number;
      currentRevision?: number;
      changedBy?: string;
      changedAt?: string;
      eventId?: number;
    },
  ) {
    super(message, 'CONFLICT', conflict);
    this.name = 'LabelConflictError';
  }
}
