import { randomUUID } from 'node:crypto';
import { type DataType, type RecordBatch, type Schema, Type, type Vector } from 'apache-arrow';
import type { Logger } from 'pino';
import { FlightError, schemaToIpc, type CallContext, type DoGetResult, type FlightDescriptor, type FlightHandlers, type FlightInfo } from '@chainlake/flight';
import {
  bitmask,
  CATALOGS_SCHEMA,
  catalogsBatch,
  DB_SCHEMAS_SCHEMA,
  dbSchemasBatch,
  anyMessageName,
  encodeMessage,
  FlightSqlProtocolError,
  matchesPattern,
  packAny,
  SQL_INFO_SCHEMA,
  sqlInfoBatch,
  SqlInfo,
  SqlInfoBit,
  SqlInfoOrdinal,
  TABLE_TYPES_SCHEMA,
  tablesBatch,
  tablesSchema,
  tableTypesBatch,
  unpackAny,
  type FlightSqlCommand,
  type FlightSqlMessage,
  type SqlInfoValue,
} from '@chainlake/flight-sql';
import type { Metrics } from '@chainlake/service';
import { SqlError, type QueryResult, type SqlEngine, type SqlParams, type SqlValue } from '@chainlake/sql';

export interface FlightSqlOptions {
  engine: SqlEngine;
  /** Where tickets are redeemed (this server's Flight URI); omitted: endpoints name no location, so clients reuse their connection. */
  location?: string | (() => string);
  metrics: Metrics;
  log: Logger;
  /** Answered as FLIGHT_SQL_SERVER_VERSION; default "0.1.0". */
  serverVersion?: string;
  /** A prepared statement unused this long is closed; default 10 minutes. */
  preparedStatementTtlMs?: number;
  /** Open prepared statements at most; default 1,000. */
  maxPreparedStatements?: number;
}

/** Flight SQL handlers, plus what a server combining them with other handlers needs to route. */
export interface FlightSqlHandlers extends Required<Pick<FlightHandlers, 'getFlightInfo' | 'getSchema' | 'doGet' | 'doPut' | 'listActions'>> {
  doAction(type: string, body: Buffer, ctx: CallContext): Promise<Buffer[]>;
  /** A CMD descriptor carrying a Flight SQL command. */
  ownsDescriptor(descriptor: FlightDescriptor): boolean;
  /** A Flight SQL ticket, or a JSON ticket with "sql_query" (the form @influxdata/influxdb3-client sends). */
  ownsTicket(ticket: Buffer): boolean;
  ownsAction(type: string): boolean;
  /** Drops every prepared statement and stops their expiry timer. */
  close(): void;
}

const ACTIONS = [
  { type: 'CreatePreparedStatement', description: 'Prepares a query: Any(ActionCreatePreparedStatementRequest) → Any(ActionCreatePreparedStatementResult)' },
  { type: 'ClosePreparedStatement', description: 'Closes a prepared statement: Any(ActionClosePreparedStatementRequest)' },
];
const ACTION_TYPES = new Set(ACTIONS.map((action) => action.type));
const TABLE_TYPE = 'TABLE';
/** The Arrow columnar format version our IPC messages follow (metadata V5). */
const ARROW_FORMAT_VERSION = '1.5';

/** A statement as a TicketStatementQuery handle carries it: the ticket is self-contained, so any replica redeems it. */
interface Statement {
  sql: string;
  params?: SqlParams;
  namespace?: string;
}

type EncodedValue = string | number | boolean | null | { bigint: string } | { timestamp: string };

function encodeValue(value: SqlValue): EncodedValue {
  if (typeof value === 'bigint') return { bigint: value.toString() };
  if (value instanceof Date) return { timestamp: value.toISOString() };
  return value;
}

function decodeValue(value: EncodedValue): SqlValue {
  if (value !== null && typeof value === 'object') return 'bigint' in value ? BigInt(value.bigint) : new Date(value.timestamp);
  return value;
}

function encodeHandle(statement: Statement): Buffer {
  const { params } = statement;
  const encoded = params === undefined ? undefined : Array.isArray(params) ? params.map(encodeValue) : Object.fromEntries(Object.entries(params).map(([k, v]) => [k, encodeValue(v)]));
  return Buffer.from(JSON.stringify({ ...statement, params: encoded }), 'utf8');
}

function decodeHandle(handle: Buffer): Statement {
  let parsed: { sql?: unknown; params?: unknown; namespace?: unknown };
  try {
    parsed = JSON.parse(handle.toString('utf8')) as typeof parsed;
  } catch {
    throw FlightError.invalidArgument('the statement handle is not one this server issued');
  }
  if (typeof parsed.sql !== 'string') throw FlightError.invalidArgument('the statement handle is not one this server issued');
  const statement: Statement = { sql: parsed.sql };
  if (typeof parsed.namespace === 'string') statement.namespace = parsed.namespace;
  if (Array.isArray(parsed.params)) statement.params = (parsed.params as EncodedValue[]).map(decodeValue);
  else if (parsed.params && typeof parsed.params === 'object') {
    statement.params = Object.fromEntries(Object.entries(parsed.params as Record<string, EncodedValue>).map(([k, v]) => [k, decodeValue(v)]));
  }
  return statement;
}

/** `{"database":…,"sql_query":…,"query_type":"sql","params":{…}}`; the database names the namespace unqualified tables resolve in. */
function parseJsonTicket(ticket: Buffer): Statement | undefined {
  if (ticket[0] !== 0x7b) return undefined; // '{'
  let parsed: unknown;
  try {
    parsed = JSON.parse(ticket.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!parsed || typeof parsed !== 'object' || !('sql_query' in parsed)) return undefined;
  const { sql_query: sql, database, query_type: queryType, params } = parsed as Record<string, unknown>;
  if (typeof sql !== 'string' || sql.trim() === '') throw FlightError.invalidArgument('"sql_query" must be a non-empty SQL string');
  if (queryType !== undefined && (typeof queryType !== 'string' || queryType.toLowerCase() !== 'sql')) {
    throw FlightError.invalidArgument(`"query_type" must be "sql", got ${JSON.stringify(queryType)}`);
  }
  if (database !== undefined && typeof database !== 'string') throw FlightError.invalidArgument('"database" must be a string (a namespace)');
  const statement: Statement = { sql };
  if (database) statement.namespace = database;
  if (params !== undefined) {
    if (!params || typeof params !== 'object' || Array.isArray(params)) throw FlightError.invalidArgument('"params" must be an object of named parameters');
    for (const [name, value] of Object.entries(params)) {
      if (value !== null && !['string', 'number', 'boolean'].includes(typeof value)) {
        throw FlightError.invalidArgument(`parameter ${name} must be a string, number, boolean or null`);
      }
    }
    statement.params = params as Record<string, SqlValue>;
  }
  return statement;
}

/** One row of parameter values bound through DoPut, from Arrow to the engine's values. */
function parameterRow(batches: RecordBatch[]): SqlValue[] {
  const rows = batches.reduce((n, batch) => n + batch.numRows, 0);
  if (rows !== 1) throw FlightError.invalidArgument(`bind exactly one row of parameters, got ${rows}`);
  const batch = batches.find((b) => b.numRows === 1)!;
  return batch.schema.fields.map((field, i) => parameterValue(field.name, field.type, batch.getChildAt(i)!));
}

function parameterValue(name: string, type: DataType, column: Vector): SqlValue {
  const value: unknown = column.get(0);
  if (value === null || value === undefined) return null;
  switch (type.typeId) {
    case Type.Int:
    case Type.Float:
    case Type.Utf8:
    case Type.LargeUtf8:
    case Type.Bool:
      return value as SqlValue;
    case Type.Timestamp:
      return new Date(value as number);
    default:
      throw FlightError.invalidArgument(`parameter ${name} has Arrow type ${type}; bind integers, floats, strings, booleans or timestamps`);
  }
}

interface PreparedStatement {
  sql: string;
  schema: Schema;
  parameters: Schema;
  params?: SqlValue[];
  expiresAt: number;
}

type QueryOutcome = 'ok' | 'invalid' | 'not_found' | 'cancelled' | 'error';

export function flightSqlHandlers(options: FlightSqlOptions): FlightSqlHandlers {
  const { engine, metrics, log } = options;
  const ttlMs = options.preparedStatementTtlMs ?? 10 * 60_000;
  const maxPrepared = options.maxPreparedStatements ?? 1_000;
  const queries = metrics.counter('flight_sql_queries_total', 'Flight SQL statements, by result: ok, invalid, not_found, cancelled, error', ['result']);
  const rowsReturned = metrics.counter('flight_sql_rows_returned_total', 'Rows returned by Flight SQL statements');
  const duration = metrics.histogram('flight_sql_query_duration_seconds', 'Flight SQL statement time, first byte to last batch', [], [0.01, 0.05, 0.25, 1, 5, 30, 120]);
  const openStatements = metrics.gauge('flight_sql_prepared_statements', 'Open Flight SQL prepared statements');
  const prepared = new Map<string, PreparedStatement>();
  let keywords: string[] | undefined;

  const sweeper = setInterval(
    () => {
      const now = Date.now();
      for (const [handle, statement] of prepared) if (statement.expiresAt <= now) prepared.delete(handle);
      openStatements.set(prepared.size);
    },
    Math.max(1_000, Math.min(ttlMs / 2, 60_000)),
  );
  sweeper.unref();

  const locations = (): string[] => (options.location === undefined ? [] : [typeof options.location === 'function' ? options.location() : options.location]);

  function outcomeOf(err: unknown, ctx?: CallContext): QueryOutcome {
    if (ctx?.signal.aborted) return 'cancelled';
    if (err instanceof SqlError || (err instanceof FlightError && err.code === 'INVALID_ARGUMENT')) return 'invalid';
    if (err instanceof FlightError && err.code === 'NOT_FOUND') return 'not_found';
    return 'error';
  }

  /** The status a failure is answered with: DuckDB's message for SQL errors; anything unexpected stays INTERNAL. */
  function flightError(err: unknown): unknown {
    if (err instanceof FlightError) return err;
    if (err instanceof SqlError) return FlightError.invalidArgument(err.message);
    if (err instanceof FlightSqlProtocolError) return err.unsupported ? FlightError.unimplemented(err.message) : FlightError.invalidArgument(err.message);
    return err;
  }

  async function guard<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw flightError(err);
    }
  }

  /** Describes a statement for GetFlightInfo / GetSchema / CreatePreparedStatement; a refusal counts as a failed query. */
  async function describe(sql: string) {
    try {
      return await engine.describe(sql);
    } catch (err) {
      queries.inc({ result: outcomeOf(err) });
      throw err;
    }
  }

  function preparedStatement(handle: Buffer): PreparedStatement {
    const statement = prepared.get(handle.toString('utf8'));
    if (!statement || statement.expiresAt <= Date.now()) {
      throw FlightError.notFound('no such prepared statement: it was closed, expired or never created');
    }
    statement.expiresAt = Date.now() + ttlMs;
    return statement;
  }

  function command(descriptor: FlightDescriptor): FlightSqlCommand {
    const cmd = descriptor.type === 'CMD' ? unpackAny(descriptor.cmd ?? Buffer.alloc(0)) : undefined;
    if (!cmd) throw FlightError.invalidArgument('expected a CMD descriptor carrying a Flight SQL command in google.protobuf.Any');
    return cmd;
  }

  /** The result schema and the ticket that redeems a command. */
  async function plan(cmd: FlightSqlCommand, descriptor: FlightDescriptor): Promise<{ schema: Schema; ticket: Buffer }> {
    const sameCommand = descriptor.cmd ?? Buffer.alloc(0);
    switch (cmd.name) {
      case 'CommandStatementQuery': {
        if (cmd.message.transactionId?.byteLength) throw FlightError.invalidArgument('transactions are not supported by this read-only server');
        const { schema } = await describe(cmd.message.query);
        return { schema, ticket: packAny('TicketStatementQuery', { statementHandle: encodeHandle({ sql: cmd.message.query }) }) };
      }
      case 'CommandPreparedStatementQuery': {
        const statement = preparedStatement(cmd.message.preparedStatementHandle);
        const handle = encodeHandle({ sql: statement.sql, ...(statement.params ? { params: statement.params } : {}) });
        return { schema: statement.schema, ticket: packAny('TicketStatementQuery', { statementHandle: handle }) };
      }
      case 'CommandGetCatalogs':
        return { schema: CATALOGS_SCHEMA, ticket: sameCommand };
      case 'CommandGetDbSchemas':
        return { schema: DB_SCHEMAS_SCHEMA, ticket: sameCommand };
      case 'CommandGetTables':
        return { schema: tablesSchema(cmd.message.includeSchema), ticket: sameCommand };
      case 'CommandGetTableTypes':
        return { schema: TABLE_TYPES_SCHEMA, ticket: sameCommand };
      case 'CommandGetSqlInfo':
        return { schema: SQL_INFO_SCHEMA, ticket: sameCommand };
      case 'CommandStatementUpdate':
      case 'CommandPreparedStatementUpdate':
        throw FlightError.invalidArgument('this Flight SQL server is read-only: updates are refused');
      default:
        throw FlightError.unimplemented(`Flight SQL ${cmd.name} is not supported by this server`);
    }
  }

  async function runStatement(statement: Statement, ctx: CallContext): Promise<DoGetResult> {
    const started = process.hrtime.bigint();
    const record = (result: QueryOutcome, rows: number, err?: unknown): void => {
      queries.inc({ result });
      rowsReturned.inc(rows);
      duration.observe(Number(process.hrtime.bigint() - started) / 1e9);
      if (result === 'error') log.warn({ sql: statement.sql, err: String(err) }, 'flight sql statement failed');
      else log.debug({ sql: statement.sql, rows, result }, 'flight sql statement');
    };
    let result: QueryResult;
    try {
      result = await engine.query(statement.sql, { params: statement.params, namespace: statement.namespace, signal: ctx.signal });
    } catch (err) {
      record(outcomeOf(err, ctx), 0, err);
      throw err;
    }
    async function* counted(): AsyncGenerator<RecordBatch> {
      let rows = 0;
      let outcome: QueryOutcome = 'error';
      let failure: unknown;
      try {
        for await (const batch of result.batches) {
          rows += batch.numRows;
          yield batch;
        }
        outcome = 'ok';
      } catch (err) {
        outcome = outcomeOf(err, ctx);
        failure = err;
        throw flightError(err);
      } finally {
        record(ctx.signal.aborted && outcome !== 'ok' ? 'cancelled' : outcome, rows, failure);
      }
    }
    return { schema: result.schema, batches: counted() };
  }

  async function sqlInfo(ids: number[]): Promise<RecordBatch> {
    if (!keywords) {
      const result = await engine.query('SELECT keyword_name FROM duckdb_keywords() ORDER BY keyword_name');
      const names: string[] = [];
      for await (const batch of result.batches) names.push(...(batch.getChildAt(0)!.toArray() as string[]));
      keywords = names;
    }
    const all: Array<[number, SqlInfoValue]> = [
      [SqlInfo.FLIGHT_SQL_SERVER_NAME, 'chainlake'],
      [SqlInfo.FLIGHT_SQL_SERVER_VERSION, options.serverVersion ?? '0.1.0'],
      [SqlInfo.FLIGHT_SQL_SERVER_ARROW_VERSION, ARROW_FORMAT_VERSION],
      [SqlInfo.FLIGHT_SQL_SERVER_READ_ONLY, true],
      [SqlInfo.FLIGHT_SQL_SERVER_SQL, true],
      [SqlInfo.FLIGHT_SQL_SERVER_SUBSTRAIT, false],
      [SqlInfo.FLIGHT_SQL_SERVER_TRANSACTION, SqlInfoOrdinal.TRANSACTION_NONE],
      [SqlInfo.FLIGHT_SQL_SERVER_CANCEL, false],
      [SqlInfo.FLIGHT_SQL_SERVER_BULK_INGESTION, false],
      [SqlInfo.FLIGHT_SQL_SERVER_STATEMENT_TIMEOUT, Math.min(ttlMs, 2 ** 31 - 1)],
      [SqlInfo.SQL_DDL_CATALOG, false],
      [SqlInfo.SQL_DDL_SCHEMA, false],
      [SqlInfo.SQL_DDL_TABLE, false],
      [SqlInfo.SQL_IDENTIFIER_CASE, SqlInfoOrdinal.CASE_INSENSITIVE],
      [SqlInfo.SQL_IDENTIFIER_QUOTE_CHAR, '"'],
      [SqlInfo.SQL_QUOTED_IDENTIFIER_CASE, SqlInfoOrdinal.CASE_INSENSITIVE],
      [SqlInfo.SQL_ALL_TABLES_ARE_SELECTABLE, true],
      [SqlInfo.SQL_NULL_ORDERING, SqlInfoOrdinal.NULLS_SORTED_AT_END],
      [SqlInfo.SQL_KEYWORDS, keywords],
      [SqlInfo.SQL_SEARCH_STRING_ESCAPE, '\\'],
      [SqlInfo.SQL_SUPPORTS_COLUMN_ALIASING, true],
      [SqlInfo.SQL_NULL_PLUS_NULL_IS_NULL, true],
      [SqlInfo.SQL_SUPPORTS_TABLE_CORRELATION_NAMES, true],
      [SqlInfo.SQL_SUPPORTS_DIFFERENT_TABLE_CORRELATION_NAMES, true],
      [SqlInfo.SQL_SUPPORTS_EXPRESSIONS_IN_ORDER_BY, true],
      [SqlInfo.SQL_SUPPORTS_ORDER_BY_UNRELATED, true],
      [SqlInfo.SQL_SUPPORTED_GROUP_BY, bitmask(SqlInfoBit.GROUP_BY_UNRELATED, SqlInfoBit.GROUP_BY_BEYOND_SELECT)],
      [SqlInfo.SQL_SUPPORTS_LIKE_ESCAPE_CLAUSE, true],
      [SqlInfo.SQL_SUPPORTS_NON_NULLABLE_COLUMNS, false],
      [SqlInfo.SQL_SUPPORTED_GRAMMAR, bitmask(SqlInfoBit.MINIMUM_GRAMMAR, SqlInfoBit.CORE_GRAMMAR)],
      [SqlInfo.SQL_ANSI92_SUPPORTED_LEVEL, bitmask(SqlInfoBit.ANSI92_ENTRY_SQL, SqlInfoBit.ANSI92_INTERMEDIATE_SQL)],
      [SqlInfo.SQL_OUTER_JOINS_SUPPORT_LEVEL, SqlInfoOrdinal.FULL_OUTER_JOINS],
      [SqlInfo.SQL_SCHEMA_TERM, 'schema'],
      [SqlInfo.SQL_PROCEDURE_TERM, 'procedure'],
      [SqlInfo.SQL_CATALOG_TERM, 'catalog'],
      [SqlInfo.SQL_CATALOG_AT_START, true],
      [SqlInfo.SQL_SELECT_FOR_UPDATE_SUPPORTED, false],
      [SqlInfo.SQL_STORED_PROCEDURES_SUPPORTED, false],
      [
        SqlInfo.SQL_SUPPORTED_SUBQUERIES,
        bitmask(SqlInfoBit.SUBQUERIES_IN_COMPARISONS, SqlInfoBit.SUBQUERIES_IN_EXISTS, SqlInfoBit.SUBQUERIES_IN_INS, SqlInfoBit.SUBQUERIES_IN_QUANTIFIEDS),
      ],
      [SqlInfo.SQL_CORRELATED_SUBQUERIES_SUPPORTED, true],
      [SqlInfo.SQL_SUPPORTED_UNIONS, bitmask(SqlInfoBit.UNION, SqlInfoBit.UNION_ALL)],
      [SqlInfo.SQL_DEFAULT_TRANSACTION_ISOLATION, SqlInfoOrdinal.TRANSACTION_ISOLATION_NONE],
      [SqlInfo.SQL_TRANSACTIONS_SUPPORTED, false],
      [SqlInfo.SQL_BATCH_UPDATES_SUPPORTED, false],
      [SqlInfo.SQL_SAVEPOINTS_SUPPORTED, false],
      [SqlInfo.SQL_NAMED_PARAMETERS_SUPPORTED, true],
    ];
    const wanted = new Set(ids);
    return sqlInfoBatch(ids.length === 0 ? all : all.filter(([id]) => wanted.has(id)));
  }

  async function metadata(cmd: FlightSqlCommand): Promise<RecordBatch | undefined> {
    const catalogMatches = (catalog: string | undefined): boolean => catalog === undefined || catalog === engine.catalog;
    switch (cmd.name) {
      case 'CommandGetCatalogs':
        return catalogsBatch([engine.catalog]);
      case 'CommandGetDbSchemas': {
        const matches = matchesPattern(cmd.message.dbSchemaFilterPattern);
        const namespaces = catalogMatches(cmd.message.catalog) ? [...new Set((await engine.tables()).map((t) => t.namespace))] : [];
        return dbSchemasBatch(namespaces.filter(matches).map((dbSchema) => ({ catalog: engine.catalog, dbSchema })));
      }
      case 'CommandGetTables':
        return tablesBatch(await tableRows(cmd.message), cmd.message.includeSchema);
      case 'CommandGetTableTypes':
        return tableTypesBatch([TABLE_TYPE]);
      case 'CommandGetSqlInfo':
        return sqlInfo(cmd.message.info);
      default:
        return undefined;
    }

    async function tableRows(request: FlightSqlMessage<'CommandGetTables'>) {
      if (!catalogMatches(request.catalog)) return [];
      if (request.tableTypes.length > 0 && !request.tableTypes.includes(TABLE_TYPE)) return [];
      const schemaMatches = matchesPattern(request.dbSchemaFilterPattern);
      const tableMatches = matchesPattern(request.tableNameFilterPattern);
      return (await engine.tables())
        .filter((table) => schemaMatches(table.namespace) && tableMatches(table.name))
        .map((table) => ({
          catalog: engine.catalog,
          dbSchema: table.namespace,
          table: table.name,
          tableType: TABLE_TYPE,
          ...(request.includeSchema ? { schema: schemaToIpc(table.schema) } : {}),
        }));
    }
  }

  function actionRequest<N extends 'ActionCreatePreparedStatementRequest' | 'ActionClosePreparedStatementRequest'>(name: N, body: Buffer): FlightSqlMessage<N> {
    const cmd = unpackAny(body);
    if (cmd?.name !== name) throw FlightError.invalidArgument(`the action body must be google.protobuf.Any wrapping ${name}`);
    return cmd.message as FlightSqlMessage<N>;
  }

  return {
    ownsDescriptor: (descriptor) => descriptor.type === 'CMD' && descriptor.cmd !== undefined && isFlightSql(descriptor.cmd),
    ownsTicket: (ticket) => isFlightSql(ticket) || isJsonSqlTicket(ticket),
    ownsAction: (type) => ACTION_TYPES.has(type),

    getFlightInfo: (descriptor) =>
      guard(async (): Promise<FlightInfo> => {
        const { schema, ticket } = await plan(command(descriptor), descriptor);
        return { schema, descriptor, endpoints: [{ ticket, locations: locations() }], totalRecords: -1, totalBytes: -1 };
      }),

    getSchema: (descriptor) => guard(async () => (await plan(command(descriptor), descriptor)).schema),

    doGet: (ticket, ctx) =>
      guard(async () => {
        const json = parseJsonTicket(ticket);
        if (json) {
          if (json.namespace === engine.catalog) delete json.namespace; // the database named is the catalog itself
          return runStatement(json, ctx);
        }
        const cmd = unpackAny(ticket);
        if (!cmd) {
          throw FlightError.invalidArgument(
            'the ticket is neither a Flight SQL ticket (google.protobuf.Any) nor a JSON SQL ticket {"database":…,"sql_query":…,"query_type":"sql"}',
          );
        }
        if (cmd.name === 'TicketStatementQuery') return runStatement(decodeHandle(cmd.message.statementHandle), ctx);
        if (cmd.name === 'CommandStatementQuery') return runStatement({ sql: cmd.message.query }, ctx);
        if (cmd.name === 'CommandPreparedStatementQuery') {
          const statement = preparedStatement(cmd.message.preparedStatementHandle);
          return runStatement({ sql: statement.sql, ...(statement.params ? { params: statement.params } : {}) }, ctx);
        }
        const batch = await metadata(cmd);
        if (!batch) throw FlightError.invalidArgument(`${cmd.name} is not a ticket`);
        return { schema: batch.schema, batches: [batch] };
      }),

    doPut: (descriptor, batches) =>
      guard(async () => {
        const cmd = command(descriptor);
        if (cmd.name !== 'CommandPreparedStatementQuery') {
          const readOnly = cmd.name === 'CommandStatementUpdate' || cmd.name === 'CommandPreparedStatementUpdate';
          throw readOnly
            ? FlightError.invalidArgument('this Flight SQL server is read-only: updates are refused')
            : FlightError.invalidArgument(`DoPut takes CommandPreparedStatementQuery (parameter binding), not ${cmd.name}`);
        }
        const statement = preparedStatement(cmd.message.preparedStatementHandle);
        const received: RecordBatch[] = [];
        for await (const batch of batches) received.push(batch);
        const params = parameterRow(received);
        if (params.length !== statement.parameters.fields.length) {
          throw FlightError.invalidArgument(`the statement has ${statement.parameters.fields.length} parameter(s), ${params.length} bound`);
        }
        statement.params = params;
        return encodeMessage('DoPutPreparedStatementResult', { preparedStatementHandle: cmd.message.preparedStatementHandle });
      }),

    doAction: (type, body) =>
      guard(async () => {
        if (type === 'CreatePreparedStatement') {
          const request = actionRequest('ActionCreatePreparedStatementRequest', body);
          if (request.transactionId?.byteLength) throw FlightError.invalidArgument('transactions are not supported by this read-only server');
          if (prepared.size >= maxPrepared) throw FlightError.resourceExhausted(`${maxPrepared} prepared statements are open; close some first`);
          const { schema, parameters } = await describe(request.query);
          const handle = randomUUID();
          prepared.set(handle, { sql: request.query, schema, parameters, expiresAt: Date.now() + ttlMs });
          openStatements.set(prepared.size);
          return [
            packAny('ActionCreatePreparedStatementResult', {
              preparedStatementHandle: Buffer.from(handle, 'utf8'),
              datasetSchema: schemaToIpc(schema),
              parameterSchema: schemaToIpc(parameters),
              isUpdate: false,
            }),
          ];
        }
        if (type === 'ClosePreparedStatement') {
          const request = actionRequest('ActionClosePreparedStatementRequest', body);
          preparedStatement(request.preparedStatementHandle);
          prepared.delete(request.preparedStatementHandle.toString('utf8'));
          openStatements.set(prepared.size);
          return [];
        }
        throw FlightError.unimplemented(`action ${type} is not implemented; Flight SQL actions here: ${[...ACTION_TYPES].join(', ')}`);
      }),

    listActions: () => ACTIONS,

    close() {
      clearInterval(sweeper);
      prepared.clear();
      openStatements.set(0);
    },
  };
}

function isFlightSql(bytes: Buffer): boolean {
  return anyMessageName(bytes) !== undefined;
}

function isJsonSqlTicket(ticket: Buffer): boolean {
  try {
    return parseJsonTicket(ticket) !== undefined;
  } catch {
    return true; // a JSON SQL ticket with a bad field: ours to refuse
  }
}
