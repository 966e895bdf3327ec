// Errors about model files and manifests name the file and, where known, the manifest field.
export class ModelError extends Error {
  constructor(
    message: string,
    readonly where: { path: string; field?: string; line?: number } = { path: '' },
  ) {
    super(message);
    this.name = 'ModelError';
  }
}
