import type { IcebergSchema, SortField, TableMetadata, TableRequirement, TableUpdate } from './types.js';
import type { UnboundPartitionField } from './metadata.js';

export interface RestCatalogClientOptions {
  /** The catalog's base URI, e.g. `http://127.0.0.1:8086` (routes are `<uri>/v1/...`). */
  uri: string;
  /** Sent as `Authorization: Bearer <token>` when set. */
  token?: string;
  /** Per request; default 30 s. */
  timeoutMs?: number;
}

/** A table as the catalog returns it (LoadTableResult). `metadataLocation` is null only for a staged create. */
export interface LoadedTable {
  metadataLocation: string | null;
  metadata: TableMetadata;
  config: Record<string, string>;
}

export interface CommittedTable {
  metadataLocation: string;
  metadata: TableMetadata;
}

export interface TableCommit {
  requirements: TableRequirement[];
  updates: TableUpdate[];
}

export interface CreateTableOptions {
  schema: IcebergSchema;
  spec?: { fields: UnboundPartitionField[] };
  sortOrder?: { fields: SortField[] };
  properties?: Record<string, string>;
  /** Default: the catalog's `<warehouse>/<namespace>/<table>`. */
  location?: string;
}

/** The catalog answered with an error (`{"error": {message, type, code}}`) or could not be reached (status 0). */
export class RestCatalogError extends Error {
  override name = 'RestCatalogError';
  constructor(
    message: string,
    readonly status: number,
    /** The server's error type, e.g. NoSuchTableException. */
    readonly type: string,
    /** The server's own message. */
    readonly serverMessage: string,
  ) {
    super(message);
  }
}

/** A commit's requirements no longer hold (409 CommitFailedException): reload the table and commit again. */
export class RestCommitConflictError extends RestCatalogError {
  override name = 'RestCommitConflictError';
}

const DEFAULT_TIMEOUT_MS = 30_000;

const ns = (namespace: string): string => encodeURIComponent(namespace);
const tablePath = (namespace: string, name: string): string => `/v1/namespaces/${ns(namespace)}/tables/${encodeURIComponent(name)}`;

const toLoaded = (body: { 'metadata-location'?: string | null; metadata: TableMetadata; config?: Record<string, string> }): LoadedTable => ({
  metadataLocation: body['metadata-location'] ?? null,
  metadata: body.metadata,
  config: body.config ?? {},
});

/**
 * A client of an Iceberg REST catalog (the chainlake catalog service or any other), for one-level namespaces.
 * Every failure is a RestCatalogError carrying the status, the server's error type and message.
 */
export class RestCatalogClient {
  private readonly base: string;

  constructor(private readonly options: RestCatalogClientOptions) {
    this.base = options.uri.replace(/\/+$/, '');
  }

  config(): Promise<{ defaults: Record<string, string>; overrides: Record<string, string>; endpoints?: string[] }> {
    return this.request('GET', '/v1/config');
  }

  async listNamespaces(): Promise<string[]> {
    const body = await this.request<{ namespaces: string[][] }>('GET', '/v1/namespaces');
    return body.namespaces.map((levels) => levels.join('.'));
  }

  async createNamespace(namespace: string, properties: Record<string, string> = {}): Promise<void> {
    await this.request('POST', '/v1/namespaces', { namespace: [namespace], properties });
  }

  /** Creates the namespace unless it exists. */
  async ensureNamespace(namespace: string, properties: Record<string, string> = {}): Promise<void> {
    try {
      await this.createNamespace(namespace, properties);
    } catch (err) {
      if (!(err instanceof RestCatalogError && err.status === 409)) throw err;
    }
  }

  async loadNamespace(namespace: string): Promise<Record<string, string>> {
    return (await this.request<{ properties?: Record<string, string> | null }>('GET', `/v1/namespaces/${ns(namespace)}`)).properties ?? {};
  }

  namespaceExists(namespace: string): Promise<boolean> {
    return this.exists(`/v1/namespaces/${ns(namespace)}`);
  }

  async dropNamespace(namespace: string): Promise<void> {
    await this.request('DELETE', `/v1/namespaces/${ns(namespace)}`);
  }

  async listTables(namespace: string): Promise<string[]> {
    const body = await this.request<{ identifiers: { name: string }[] }>('GET', `/v1/namespaces/${ns(namespace)}/tables`);
    return body.identifiers.map((id) => id.name);
  }

  async createTable(namespace: string, name: string, options: CreateTableOptions): Promise<LoadedTable> {
    const sortFields = options.sortOrder?.fields ?? [];
    const body = {
      name,
      schema: options.schema,
      'partition-spec': { 'spec-id': 0, fields: options.spec?.fields ?? [] },
      'write-order': { 'order-id': sortFields.length === 0 ? 0 : 1, fields: sortFields },
      properties: options.properties ?? {},
      ...(options.location === undefined ? {} : { location: options.location }),
    };
    return toLoaded(await this.request('POST', `/v1/namespaces/${ns(namespace)}/tables`, body));
  }

  /** Loads the table, creating it (as `options` describe) if it does not exist; an existing table is returned as it is. */
  async ensureTable(namespace: string, name: string, options: CreateTableOptions): Promise<LoadedTable> {
    try {
      return await this.loadTable(namespace, name);
    } catch (err) {
      if (!(err instanceof RestCatalogError && err.status === 404 && err.type === 'NoSuchTableException')) throw err;
    }
    try {
      return await this.createTable(namespace, name, options);
    } catch (err) {
      // Created by someone else in between.
      if (err instanceof RestCatalogError && err.status === 409 && err.type === 'AlreadyExistsException') return this.loadTable(namespace, name);
      throw err;
    }
  }

  async loadTable(namespace: string, name: string): Promise<LoadedTable> {
    return toLoaded(await this.request('GET', tablePath(namespace, name)));
  }

  tableExists(namespace: string, name: string): Promise<boolean> {
    return this.exists(tablePath(namespace, name));
  }

  /** @throws RestCommitConflictError when a requirement failed (the table moved on); other errors as RestCatalogError. */
  async commitTable(namespace: string, name: string, commit: TableCommit): Promise<CommittedTable> {
    const body = await this.request<{ 'metadata-location': string; metadata: TableMetadata }>('POST', tablePath(namespace, name), commit);
    return { metadataLocation: body['metadata-location'], metadata: body.metadata };
  }

  /**
   * Loads the table, builds a commit from it and commits; on a conflict calls `onConflict` with the refused
   * commit (e.g. to delete the manifests it wrote), reloads and builds again, up to `maxAttempts` times.
   * `build` must derive everything from the table it is given (parent snapshot, sequence number), since it
   * runs once per attempt.
   */
  async commitWithRetry<C extends TableCommit>(
    namespace: string,
    name: string,
    build: (table: LoadedTable, attempt: number) => C | Promise<C>,
    options: { maxAttempts?: number; onConflict?: (refused: C) => void | Promise<void> } = {},
  ): Promise<CommittedTable & { attempts: number }> {
    const maxAttempts = options.maxAttempts ?? 20;
    for (let attempt = 1; ; attempt++) {
      const commit = await build(await this.loadTable(namespace, name), attempt);
      try {
        const committed = await this.commitTable(namespace, name, { requirements: commit.requirements, updates: commit.updates });
        return { ...committed, attempts: attempt };
      } catch (err) {
        if (!(err instanceof RestCommitConflictError)) throw err;
        await options.onConflict?.(commit);
        if (attempt >= maxAttempts) throw err;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(10 * 2 ** attempt, 500)));
      }
    }
  }

  async dropTable(namespace: string, name: string, options: { purge?: boolean } = {}): Promise<void> {
    await this.request('DELETE', `${tablePath(namespace, name)}${options.purge ? '?purgeRequested=true' : ''}`);
  }

  async renameTable(from: { namespace: string; name: string }, to: { namespace: string; name: string }): Promise<void> {
    await this.request('POST', '/v1/tables/rename', {
      source: { namespace: [from.namespace], name: from.name },
      destination: { namespace: [to.namespace], name: to.name },
    });
  }

  private async exists(path: string): Promise<boolean> {
    try {
      await this.request('HEAD', path);
      return true;
    } catch (err) {
      if (err instanceof RestCatalogError && err.status === 404) return false;
      throw err;
    }
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    const what = `${method} ${path}`;
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
    } catch (err) {
      const cause = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
      throw new RestCatalogError(`${what}: catalog at ${this.base} unreachable: ${cause}`, 0, 'ConnectionError', cause);
    }
    const text = await response.text();
    if (!response.ok) {
      let type = `HTTP${response.status}`;
      let message = text.trim() || response.statusText;
      try {
        const parsed = JSON.parse(text) as { error?: { type?: unknown; message?: unknown } };
        if (typeof parsed.error?.type === 'string') type = parsed.error.type;
        if (typeof parsed.error?.message === 'string') message = parsed.error.message;
      } catch {
        // not the error model: keep the raw text
      }
      const ErrorClass = response.status === 409 && type === 'CommitFailedException' ? RestCommitConflictError : RestCatalogError;
      throw new ErrorClass(`${what}: ${response.status} ${type}: ${message}`, response.status, type, message);
    }
    if (text === '') return undefined as T;
    return JSON.parse(text) as T;
  }
}
