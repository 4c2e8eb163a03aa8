import { DuckDBInstance, StatementType, type DuckDBConnection, type DuckDBPreparedStatement, type DuckDBResult } from '@duckdb/node-api';
import { Schema, type RecordBatch } from 'apache-arrow';
import { arrowField, ChunkBatcher } from './arrow.js';
import { classify, isIoError, SqlError } from './errors.js';
import { bindParams, parameterSchema, type SqlParams } from './params.js';
import { quoteIdentifier, quoteLiteral, viewQuery } from './views.js';

/** A lake table as the catalog knows it. */
export interface LakeTable {
  namespace: string;
  name: string;
  arrowSchema: Schema;
}

/** Where the engine learns the tables and their current data files (absolute paths). */
export interface LakeTableProvider {
  listTables(): Promise<LakeTable[]>;
  currentFiles(namespace: string, name: string): Promise<string[]>;
}

/** A table as queries see it: `"<catalog>"."<namespace>"."<name>"`, with the schema DuckDB gives its columns. */
export interface TableView {
  namespace: string;
  name: string;
  schema: Schema;
}

export interface SqlEngineOptions {
  provider: LakeTableProvider;
  /** The only directories statements may read (the warehouse); every other file access is refused. */
  allowedDirectories: string[];
  /** The DuckDB catalog (database) holding the views; default "chainlake". */
  catalog?: string;
  /** DuckDB worker threads; default DuckDB's (the cores). */
  threads?: number;
  /** DuckDB memory limit, e.g. "2GB"; default DuckDB's (80% of RAM). */
  memoryLimit?: string;
  /** Where DuckDB spills when over its memory limit; default DuckDB's (.tmp). */
  tempDirectory?: string;
  /** Rows per result batch, at most; default 32,768. */
  batchRows?: number;
  /** Bytes per result batch, about; default 8 MiB. */
  batchBytes?: number;
  /**
   * A query first refreshes the views when the last full refresh is older than this; default
   * 10 s. 0 refreshes before every query, Infinity only on refresh().
   */
  maxStalenessMs?: number;
  /**
   * Told when a refresh fails: for one table (its previous view stays), or as a whole (the
   * provider failed; queries go on with the views they have).
   */
  onRefreshError?(err: unknown, table?: { namespace: string; name: string }): void;
}

export interface QueryOptions {
  params?: SqlParams;
  /** Resolves unqualified table names in this namespace (as a DuckDB schema). */
  namespace?: string;
  /** Aborting interrupts the query. */
  signal?: AbortSignal;
}

export interface QueryResult {
  schema: Schema;
  /** Streams the result; stopping early releases the query. */
  batches: AsyncGenerator<RecordBatch>;
}

export interface StatementDescription {
  schema: Schema;
  parameters: Schema;
}

interface View extends TableView {
  files: string[];
  tableSchema: string;
}

/** Statement types a read-only query service runs; DuckDB reports DESCRIBE, SHOW, SUMMARIZE and table PRAGMAs as SELECT. */
const QUERY_TYPES = new Set<StatementType>([StatementType.SELECT, StatementType.EXPLAIN]);

const key = (namespace: string, name: string): string => `${namespace}\u0000${name}`;

/**
 * DuckDB over the lake: every table is a view over its current Parquet files, statements are
 * read-only queries, results stream as Arrow record batches.
 */
export class SqlEngine {
  private readonly views = new Map<string, View>();
  private refreshing: Promise<void> = Promise.resolve();
  private fullRefresh: Promise<void> | undefined;
  private refreshedAt = -Infinity;
  private closed = false;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly admin: DuckDBConnection,
    private readonly options: SqlEngineOptions,
    readonly catalog: string,
  ) {}

  static async open(options: SqlEngineOptions): Promise<SqlEngine> {
    const catalog = options.catalog ?? 'chainlake';
    const config: Record<string, string> = {};
    if (options.threads !== undefined) config.threads = String(options.threads);
    if (options.memoryLimit !== undefined) config.memory_limit = options.memoryLimit;
    if (options.tempDirectory !== undefined) config.temp_directory = options.tempDirectory;
    const instance = await DuckDBInstance.create(':memory:', config);
    const admin = await instance.connect();
    try {
      const allowed = options.allowedDirectories.map((dir) => quoteLiteral(dir.endsWith('/') ? dir : `${dir}/`));
      await admin.run(`ATTACH ':memory:' AS ${quoteIdentifier(catalog)}`);
      await admin.run(`USE ${quoteIdentifier(catalog)}`);
      await admin.run(`SET allowed_directories = [${allowed.join(', ')}]`);
      await admin.run('SET enable_external_access = false');
      await admin.run('SET autoinstall_known_extensions = false');
      await admin.run('SET parquet_metadata_cache = true');
      // statements cannot SET anything back (they are refused anyway unless they are queries)
      await admin.run('SET lock_configuration = true');
    } catch (err) {
      admin.closeSync();
      instance.closeSync();
      throw err;
    }
    const engine = new SqlEngine(instance, admin, options, catalog);
    // a provider that is down at start leaves the engine without views until a later refresh succeeds
    await engine.refresh().catch((err: unknown) => options.onRefreshError?.(err));
    return engine;
  }

  /** The tables as views, after refreshing them if they are stale. */
  async tables(): Promise<TableView[]> {
    await this.fresh();
    return [...this.views.values()]
      .map(({ namespace, name, schema }) => ({ namespace, name, schema }))
      .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  }

  /**
   * Re-reads tables and files from the provider and rebuilds the views whose files or schema
   * changed (one table, or all of them); views of tables that are gone are dropped.
   */
  refresh(namespace?: string, name?: string): Promise<void> {
    const run = async (): Promise<void> => {
      const started = Date.now();
      const tables = await this.options.provider.listTables();
      const wanted = namespace === undefined ? tables : tables.filter((t) => t.namespace === namespace && t.name === name);
      for (const table of wanted) await this.refreshView(table);
      const present = new Set(tables.map((t) => key(t.namespace, t.name)));
      for (const [viewKey, view] of this.views) {
        const inScope = namespace === undefined || (view.namespace === namespace && view.name === name);
        if (inScope && !present.has(viewKey)) await this.dropView(view);
      }
      if (namespace === undefined) this.refreshedAt = started;
    };
    const next = this.refreshing.then(run, run);
    this.refreshing = next.catch(() => undefined);
    return next;
  }

  /** The result schema and parameters of a statement, without running it. */
  async describe(sql: string, options: Pick<QueryOptions, 'namespace'> = {}): Promise<StatementDescription> {
    await this.fresh();
    return this.withStatement(sql, options.namespace, async (statement) => ({ schema: resultSchema(statement), parameters: parameterSchema(statement) }));
  }

  /** Runs a read-only statement, streaming its result; SqlError for anything the statement got wrong. */
  async query(sql: string, options: QueryOptions = {}): Promise<QueryResult> {
    await this.fresh();
    const connection = await this.connect(options.namespace);
    let statement: DuckDBPreparedStatement | undefined;
    const interrupt = (): void => connection.interrupt();
    const release = (): void => {
      options.signal?.removeEventListener('abort', interrupt);
      statement?.destroySync();
      connection.closeSync();
    };
    const start = async (): Promise<DuckDBResult> => {
      statement = await this.prepareQuery(connection, sql);
      bindParams(statement, options.params);
      return statement.stream();
    };
    try {
      options.signal?.addEventListener('abort', interrupt);
      let result: DuckDBResult;
      try {
        result = await start();
      } catch (err) {
        if (!isIoError(err)) throw err;
        // a file the views named is gone (replaced by a commit): rebuild the views once and retry
        statement?.destroySync();
        statement = undefined;
        await this.refresh();
        result = await start();
      }
      const batcher = new ChunkBatcher(result.columnNames(), result.columnTypes(), this.options.batchRows ?? 32_768, this.options.batchBytes ?? 8 * 1024 * 1024);
      return { schema: batcher.schema, batches: stream(result, batcher, release) };
    } catch (err) {
      release();
      throw classify(err);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.refreshing;
    this.admin.closeSync();
    this.instance.closeSync();
  }

  /** Refreshes every view when the last full refresh is older than maxStalenessMs; concurrent queries share one refresh. */
  private async fresh(): Promise<void> {
    if (this.closed) throw new Error('the SQL engine is closed');
    const maxStaleness = this.options.maxStalenessMs ?? 10_000;
    if (Date.now() - this.refreshedAt <= maxStaleness) return;
    this.fullRefresh ??= this.refresh()
      .catch((err: unknown) => this.options.onRefreshError?.(err))
      .finally(() => {
        this.fullRefresh = undefined;
      });
    await this.fullRefresh;
  }

  private async refreshView(table: LakeTable): Promise<void> {
    const viewKey = key(table.namespace, table.name);
    const existing = this.views.get(viewKey);
    try {
      const files = await this.options.provider.currentFiles(table.namespace, table.name);
      const tableSchema = table.arrowSchema.fields.map((field) => `${field.name}:${field.type}`).join(',');
      if (existing && existing.tableSchema === tableSchema && sameFiles(existing.files, files)) return;
      const qualified = `${quoteIdentifier(this.catalog)}.${quoteIdentifier(table.namespace)}.${quoteIdentifier(table.name)}`;
      await this.admin.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(this.catalog)}.${quoteIdentifier(table.namespace)}`);
      await this.admin.run(`CREATE OR REPLACE VIEW ${qualified} AS ${viewQuery(table.arrowSchema, files)}`);
      const statement = await this.admin.prepare(`SELECT * FROM ${qualified}`);
      try {
        this.views.set(viewKey, { namespace: table.namespace, name: table.name, schema: resultSchema(statement), files, tableSchema });
      } finally {
        statement.destroySync();
      }
    } catch (err) {
      this.options.onRefreshError?.(err, { namespace: table.namespace, name: table.name });
    }
  }

  private async dropView(view: View): Promise<void> {
    await this.admin.run(`DROP VIEW IF EXISTS ${quoteIdentifier(this.catalog)}.${quoteIdentifier(view.namespace)}.${quoteIdentifier(view.name)}`);
    this.views.delete(key(view.namespace, view.name));
  }

  private async connect(namespace: string | undefined): Promise<DuckDBConnection> {
    const connection = await this.instance.connect();
    try {
      const target = namespace === undefined ? quoteIdentifier(this.catalog) : `${quoteIdentifier(this.catalog)}.${quoteIdentifier(namespace)}`;
      await connection.run(`USE ${target}`);
      return connection;
    } catch (err) {
      connection.closeSync();
      throw classify(err);
    }
  }

  private async prepareQuery(connection: DuckDBConnection, sql: string): Promise<DuckDBPreparedStatement> {
    const statement = await connection.prepare(sql);
    if (!QUERY_TYPES.has(statement.statementType)) {
      const type = StatementType[statement.statementType] ?? String(statement.statementType);
      statement.destroySync();
      throw new SqlError(`only queries (SELECT, EXPLAIN) are allowed on this read-only service, got a ${type} statement`);
    }
    return statement;
  }

  private async withStatement<T>(sql: string, namespace: string | undefined, use: (statement: DuckDBPreparedStatement) => Promise<T>): Promise<T> {
    const connection = await this.connect(namespace);
    try {
      const statement = await this.prepareQuery(connection, sql);
      try {
        return await use(statement);
      } finally {
        statement.destroySync();
      }
    } catch (err) {
      throw classify(err);
    } finally {
      connection.closeSync();
    }
  }
}

function resultSchema(statement: DuckDBPreparedStatement): Schema {
  const fields = [];
  for (let i = 0; i < statement.columnCount; i++) fields.push(arrowField(statement.columnName(i), statement.columnType(i)));
  return new Schema(fields);
}

function sameFiles(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((file, i) => file === b[i]);
}

async function* stream(result: DuckDBResult, batcher: ChunkBatcher, release: () => void): AsyncGenerator<RecordBatch> {
  try {
    for (;;) {
      let chunk;
      try {
        chunk = await result.fetchChunk();
      } catch (err) {
        throw classify(err);
      }
      if (!chunk || chunk.rowCount === 0) break;
      if (batcher.add(chunk)) yield batcher.take();
    }
    if (batcher.pending > 0) yield batcher.take();
  } finally {
    release();
  }
}
