/** Why a request was refused, the label of `chainlake_catalog_rejected_requests_total`. */
export type RejectReason =
  | 'invalid_name'
  | 'invalid_body'
  | 'unsupported'
  | 'unauthorized'
  | 'not_found'
  | 'already_exists'
  | 'not_empty'
  | 'commit_conflict'
  | 'missing_metadata';

/** An error answered in the REST catalog's error model: `{"error": {"message", "type", "code"}}`. */
export class CatalogError extends Error {
  override name = 'CatalogError';
  constructor(
    readonly status: number,
    /** The Java exception name Iceberg clients map the error to. */
    readonly type: string,
    message: string,
    readonly reason: RejectReason,
  ) {
    super(message);
  }

  toBody(): { error: { message: string; type: string; code: number } } {
    return { error: { message: this.message, type: this.type, code: this.status } };
  }
}

export const badRequest = (message: string, reason: RejectReason = 'invalid_body'): CatalogError =>
  new CatalogError(400, 'BadRequestException', message, reason);

export const unsupported = (message: string): CatalogError => new CatalogError(406, 'UnsupportedOperationException', message, 'unsupported');

export const unauthorized = (): CatalogError =>
  new CatalogError(401, 'NotAuthorizedException', 'missing or wrong bearer token (Authorization: Bearer <token>)', 'unauthorized');

export const noSuchNamespace = (namespace: string): CatalogError =>
  new CatalogError(404, 'NoSuchNamespaceException', `namespace ${JSON.stringify(namespace)} does not exist`, 'not_found');

export const noSuchTable = (namespace: string, table: string): CatalogError =>
  new CatalogError(404, 'NoSuchTableException', `table ${JSON.stringify(`${namespace}.${table}`)} does not exist`, 'not_found');

export const alreadyExists = (message: string): CatalogError => new CatalogError(409, 'AlreadyExistsException', message, 'already_exists');

export const namespaceNotEmpty = (namespace: string): CatalogError =>
  new CatalogError(409, 'NamespaceNotEmptyException', `namespace ${JSON.stringify(namespace)} still holds tables`, 'not_empty');

export const commitFailed = (message: string): CatalogError => new CatalogError(409, 'CommitFailedException', message, 'commit_conflict');

export const unprocessable = (message: string): CatalogError =>
  new CatalogError(422, 'UnprocessableEntityException', message, 'invalid_body');

export const metadataMissing = (location: string): CatalogError =>
  new CatalogError(
    500,
    'ServiceFailureException',
    `metadata file ${location} is missing: the warehouse and the catalog's PostgreSQL schema disagree (was the warehouse deleted? drop the table with purgeRequested=true, or restore the file)`,
    'missing_metadata',
  );
