/** A commit requirement failed: the table changed under the committer (REST 409 CommitFailedException); retry on fresh metadata. */
export class CommitConflictError extends Error {
  readonly statusCode = 409;
  constructor(message: string) {
    super(message);
    this.name = 'CommitConflictError';
  }
}

/** A commit is malformed or breaks a table invariant (REST 400 BadRequest); retrying cannot help. */
export class InvalidCommitError extends Error {
  readonly statusCode = 400;
  constructor(message: string) {
    super(message);
    this.name = 'InvalidCommitError';
  }
}
