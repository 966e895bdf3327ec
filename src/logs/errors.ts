// Errors raised while reading logs carry the file and, where known, the byte offset or line.
export class LogError extends Error {
  constructor(
    message: string,
    readonly where: { path: string; offset?: number; line?: number } = { path: '' },
  ) {
    super(message);
    this.name = 'LogError';
  }
}
