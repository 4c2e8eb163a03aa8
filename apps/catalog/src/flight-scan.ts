import type { RecordBatch, Schema } from 'apache-arrow';
import type { Logger } from 'pino';
import { FlightError, type FlightDescriptor, type FlightHandlers, type FlightInfo } from '@chainlake/flight';
import { planScan, scanTable, ScanRequestError, type ScanFile, type ScanPlan, type TableScan } from '@chainlake/scan';
import type { Metrics } from '@chainlake/service';

export interface TableName {
  namespace: string;
  table: string;
}

/** What a scan needs of a table at one snapshot. */
export interface ResolvedTable {
  schema: Schema;
  /** Read lazily, only by DoGet. */
  files: AsyncIterable<ScanFile> | Iterable<ScanFile>;
  totalRecords?: number;
  /** Rows beyond the files (the hot tip), read after them. */
  extraBatches?: AsyncIterable<RecordBatch>;
  /** Called once the scan is over or abandoned, to free what resolving took (a hot-tier snapshot). */
  close?(): Promise<void>;
}

export interface TableScanDeps {
  listTables(): Promise<TableName[]> | AsyncIterable<TableName>;
  /**
   * undefined when the table (or the snapshot) does not exist; may also throw a FlightError. With `includeHot`,
   * the current snapshot plus the rows of the hot tier's blocks that no file holds, as one consistent result.
   * `where` (the ticket's filter, unchecked) lets it skip manifests whose partitions cannot match.
   */
  resolveTable(namespace: string, table: string, snapshotId?: number, includeHot?: boolean, where?: unknown): Promise<ResolvedTable | undefined>;
  metrics: Metrics;
  log: Logger;
  /** Where tickets are redeemed (this server's Flight URI); a function when known only after start. */
  location: string | (() => string);
}

/**
 * A table-scan ticket: `{"table":"<namespace>.<table>","columns":[…],"where":{…},"snapshot_id":…,"limit":…,
 * "include_hot":true}`; `"namespace"` + `"name"` may replace `"table"`. Only the table is required.
 */
export interface ScanTicket extends TableName {
  columns?: unknown;
  where?: unknown;
  snapshotId?: number;
  limit?: unknown;
  includeHot?: boolean;
}

type RejectReason = 'malformed' | 'unknown_table' | 'bad_column' | 'bad_filter' | 'bad_limit';

const TICKET_FIELDS = ['table', 'namespace', 'name', 'columns', 'where', 'snapshot_id', 'limit', 'include_hot'];

class TicketError extends FlightError {
  constructor(
    readonly reason: RejectReason,
    code: 'INVALID_ARGUMENT' | 'NOT_FOUND',
    message: string,
  ) {
    super(code, message);
  }
}

const malformed = (message: string) => new TicketError('malformed', 'INVALID_ARGUMENT', message);

/** Splits "a.b.c" at its last dot: namespace "a.b", table "c". */
function splitTableName(qualified: string): TableName {
  const dot = qualified.lastIndexOf('.');
  if (dot <= 0 || dot === qualified.length - 1) {
    throw malformed(`"table" must be "<namespace>.<table>", got ${JSON.stringify(qualified)}`);
  }
  return { namespace: qualified.slice(0, dot), table: qualified.slice(dot + 1) };
}

function snapshotId(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const id = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
    throw malformed(`"snapshot_id" must be a snapshot id (a non-negative integer), got ${JSON.stringify(value)}`);
  }
  return id;
}

/** Parses a table-scan ticket (the DoGet ticket or a CMD descriptor); the columns, filter and limit are checked later against the schema. */
export function parseScanTicket(bytes: Buffer): ScanTicket {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw malformed(`ticket is not valid JSON (${(error as Error).message}); expected {"table":"<namespace>.<table>", …}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw malformed(`ticket must be a JSON object like {"table":"<namespace>.<table>"}, got ${JSON.stringify(parsed)}`);
  }
  const ticket = parsed as Record<string, unknown>;
  const unknown = Object.keys(ticket).find((key) => !TICKET_FIELDS.includes(key));
  if (unknown !== undefined) throw malformed(`unknown ticket field "${unknown}" (fields: ${TICKET_FIELDS.join(', ')})`);

  let name: TableName;
  if (typeof ticket.table === 'string') {
    name = splitTableName(ticket.table);
  } else if (ticket.table === undefined && typeof ticket.namespace === 'string' && typeof ticket.name === 'string' && ticket.namespace && ticket.name) {
    name = { namespace: ticket.namespace, table: ticket.name };
  } else {
    throw malformed('ticket names no table: give "table": "<namespace>.<table>" (or "namespace" and "name")');
  }
  if (ticket.include_hot !== undefined && typeof ticket.include_hot !== 'boolean') {
    throw malformed(`"include_hot" must be true or false, got ${JSON.stringify(ticket.include_hot)}`);
  }
  if (ticket.include_hot === true && ticket.snapshot_id !== undefined && ticket.snapshot_id !== null) {
    throw malformed('"include_hot" joins the hot tip to the current snapshot: it cannot be combined with "snapshot_id"');
  }
  return {
    ...name,
    columns: ticket.columns,
    where: ticket.where,
    snapshotId: snapshotId(ticket.snapshot_id),
    limit: ticket.limit,
    includeHot: ticket.include_hot === true,
  };
}

function tableFromPath(path: string[] | undefined): TableName {
  if (!path || path.length === 0 || path.some((part) => part === '')) {
    throw malformed(`a PATH descriptor must be [namespace, table], got ${JSON.stringify(path ?? [])}`);
  }
  if (path.length === 1) return splitTableName(path[0]);
  return { namespace: path.slice(0, -1).join('.'), table: path[path.length - 1] };
}

const REASONS: Record<ScanRequestError['problem'], RejectReason> = { column: 'bad_column', filter: 'bad_filter', limit: 'bad_limit' };

/**
 * Flight handlers serving the lake's tables: ListFlights (one FlightInfo per table), GetFlightInfo
 * and GetSchema (descriptor PATH [namespace, table], or CMD holding a ticket), DoGet (a scan
 * ticket: projection, filter, snapshot, limit; files and row groups pruned by their statistics).
 * Malformed tickets, unknown columns and bad filters answer INVALID_ARGUMENT, unknown tables
 * NOT_FOUND, each naming the problem and counted by reason.
 */
export function tableScanHandlers(deps: TableScanDeps): Required<Pick<FlightHandlers, 'listFlights' | 'getFlightInfo' | 'getSchema' | 'doGet'>> {
  const { metrics, log } = deps;
  const scanFiles = metrics.counter('scan_files_total', 'Data files considered by table scans: scanned, or pruned by their statistics', ['result']);
  const scanRowGroups = metrics.counter('scan_row_groups_total', 'Parquet row groups of opened files: scanned, or pruned by their statistics', ['result']);
  const rejected = metrics.counter('rejected_tickets_total', 'Table-scan tickets and descriptors refused', ['reason']);
  const location = () => (typeof deps.location === 'string' ? deps.location : deps.location());

  /** Runs a step of answering a request; a refusal is counted, logged and answered with its status. */
  async function guarded<T>(step: () => T | Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      const refusal =
        error instanceof TicketError
          ? error
          : error instanceof ScanRequestError
            ? new TicketError(REASONS[error.problem], 'INVALID_ARGUMENT', error.message)
            : error instanceof FlightError && error.code === 'NOT_FOUND'
              ? new TicketError('unknown_table', 'NOT_FOUND', error.message)
              : undefined;
      if (!refusal) throw error;
      rejected.inc({ reason: refusal.reason });
      log.info({ reason: refusal.reason, err: refusal.message }, 'refused a table scan request');
      throw refusal;
    }
  }

  async function resolve(ticket: ScanTicket, includeHot = false): Promise<ResolvedTable> {
    const table = await deps.resolveTable(ticket.namespace, ticket.table, ticket.snapshotId, includeHot, ticket.where);
    if (!table) {
      const snapshot = ticket.snapshotId === undefined ? '' : ` at snapshot ${ticket.snapshotId}`;
      throw new TicketError('unknown_table', 'NOT_FOUND', `table ${ticket.namespace}.${ticket.table}${snapshot} does not exist`);
    }
    return table;
  }

  /** The ticket a descriptor stands for, and the bytes an endpoint hands back to redeem it. */
  function ticketOf(descriptor: FlightDescriptor): { ticket: ScanTicket; bytes: Buffer } {
    if (descriptor.type === 'CMD') {
      const bytes = descriptor.cmd ?? Buffer.alloc(0);
      return { ticket: parseScanTicket(bytes), bytes };
    }
    const name = tableFromPath(descriptor.path);
    return { ticket: name, bytes: Buffer.from(JSON.stringify({ table: `${name.namespace}.${name.table}` })) };
  }

  function flightInfo(descriptor: FlightDescriptor, ticket: Buffer, plan: ScanPlan, table: ResolvedTable): FlightInfo {
    const known = table.totalRecords;
    const totalRecords = plan.predicate || known === undefined ? -1 : plan.limit === undefined ? known : Math.min(plan.limit, known);
    return { schema: plan.schema, descriptor, endpoints: [{ ticket, locations: [location()] }], totalRecords, totalBytes: -1 };
  }

  async function describe(descriptor: FlightDescriptor): Promise<FlightInfo> {
    return guarded(async () => {
      const { ticket, bytes } = ticketOf(descriptor);
      const table = await resolve(ticket);
      const plan = planScan({ schema: table.schema, columns: ticket.columns, where: ticket.where, limit: ticket.limit });
      // The hot tip's rows are counted only when read.
      return flightInfo(descriptor, bytes, plan, ticket.includeHot ? { ...table, totalRecords: undefined } : table);
    });
  }

  async function* counted(scan: TableScan, ticket: ScanTicket, table: ResolvedTable): AsyncGenerator<RecordBatch> {
    const started = performance.now();
    try {
      yield* scan.batches;
    } finally {
      await table.close?.();
      const { stats } = scan;
      scanFiles.inc({ result: 'scanned' }, stats.filesScanned);
      scanFiles.inc({ result: 'pruned' }, stats.filesPruned);
      scanRowGroups.inc({ result: 'scanned' }, stats.rowGroupsScanned);
      scanRowGroups.inc({ result: 'pruned' }, stats.rowGroupsPruned);
      log.debug({ table: `${ticket.namespace}.${ticket.table}`, ...stats, ms: Math.round(performance.now() - started) }, 'table scan done');
    }
  }

  return {
    async *listFlights(criteria) {
      const prefix = criteria.toString('utf8');
      for await (const name of await deps.listTables()) {
        const qualified = `${name.namespace}.${name.table}`;
        if (!qualified.startsWith(prefix)) continue;
        const table = await deps.resolveTable(name.namespace, name.table);
        if (!table) continue; // dropped since it was listed
        const descriptor: FlightDescriptor = { type: 'PATH', path: [name.namespace, name.table] };
        yield flightInfo(descriptor, Buffer.from(JSON.stringify({ table: qualified })), planScan({ schema: table.schema }), table);
      }
    },

    getFlightInfo: (descriptor) => describe(descriptor),

    getSchema: async (descriptor) => (await describe(descriptor)).schema,

    async doGet(bytes, ctx) {
      return guarded(async () => {
        const ticket = parseScanTicket(bytes);
        const table = await resolve(ticket, ticket.includeHot);
        let scan: TableScan;
        try {
          scan = scanTable({
            schema: table.schema,
            files: table.files,
            extraBatches: table.extraBatches,
            columns: ticket.columns,
            where: ticket.where,
            limit: ticket.limit,
            signal: ctx.signal,
          });
        } catch (error) {
          await table.close?.();
          throw error;
        }
        return { schema: scan.schema, batches: counted(scan, ticket, table) };
      });
    },
  };
}
