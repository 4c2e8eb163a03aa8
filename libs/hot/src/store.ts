import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { RecordBatch, Table } from 'apache-arrow';
import { inTransaction, type Pool, type PoolClient } from '@chainlake/postgres';
import { postgresDdl, quoteIdent, RowError, type DatasetDef } from '@chainlake/schema';
import { encodeBinaryCopy } from './copy-encode.js';
import { BinaryCopyDecoder } from './copy-decode.js';

export interface HotStoreOptions {
  pool: Pool;
  /** PostgreSQL schema holding the hot tables (the pool's search_path). */
  schema: string;
  /** Chain name: hot tables are `hot_<chain>_<dataset>`, so several chains can share a schema. */
  chain: string;
}

export interface BlockHeights { min: number; max: number }
export interface DeletedRows {
  rows: number;
  /** Highest block a deleted row belonged to; undefined when nothing was deleted. */
  maxBlock: number | undefined;
}
/** A block's identity and its link to its parent, from the hot blocks table. */
export interface BlockLink { hash: string; parentHash: string }

/** The hot table of a chain's dataset; `-` in chain names becomes `_`. */
export function hotTableName(chain: string, dataset: string): string {
  return `hot_${chain.replaceAll('-', '_')}_${dataset}`;
}

/** Serialises concurrent CREATE TABLE IF NOT EXISTS of several processes (it is not safe on its own). */
const DDL_LOCK = 'chainlake.hot.ddl';

const blockBound = (name: string, value: number): number => {
  if (!Number.isSafeInteger(value) || value < -1) throw new Error(`${name} must be a block number (an integer ≥ -1), got ${value}`);
  return value;
};

function checkRange(from: number, to: number): void {
  blockBound('from', from);
  blockBound('to', to);
  if (from > to) throw new Error(`invalid block range [${from}, ${to}]: from is above to`);
}

/**
 * The hot tier: one PostgreSQL table per dataset holding blocks that may still be reorganised. Every write
 * replaces a block range (delete then COPY, in one transaction), so writing a range again is harmless.
 */
/** A consistent view of the hot tables (see HotStore.snapshot). */
export interface HotSnapshot {
  readRange(dataset: string, from: number, to: number, batchRows?: number): AsyncGenerator<RecordBatch>;
  /** Ends the transaction; idempotent. */
  release(): Promise<void>;
}

export class HotStore {
  private readonly pool: Pool;
  private readonly schema: string;
  private readonly chain: string;
  private readonly defs = new Map<string, DatasetDef>();

  constructor(options: HotStoreOptions) {
    this.pool = options.pool;
    this.schema = options.schema;
    this.chain = options.chain;
    quoteIdent(options.schema);
  }

  /** Creates the missing tables; refuses a table whose columns differ from the dataset's. */
  async ensureTables(datasets: readonly DatasetDef[]): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [DDL_LOCK]);
      for (const def of datasets) {
        const table = this.tableName(def.name);
        await client.query(postgresDdl(def, this.schema, table));
        const { rows } = await client.query<{ column_name: string }>(
          'SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position',
          [this.schema, table],
        );
        const have = rows.map((r) => r.column_name).join(', ');
        const want = def.columns.map((c) => c.name).join(', ');
        if (have !== want) throw new Error(`hot table ${this.schema}.${table} has columns (${have}); dataset ${def.name} needs (${want})`);
      }
    });
    for (const def of datasets) this.defs.set(def.name, def);
  }

  /** Datasets whose tables `ensureTables` made ready. */
  get datasets(): DatasetDef[] {
    return [...this.defs.values()];
  }

  /**
   * Replaces the rows of blocks [from, to] with `rows` (all of whose blocks must lie in the range) in one
   * transaction: on any error nothing changes. Streams PostgreSQL's binary COPY straight from the Arrow buffers.
   * Returns the rows written.
   */
  async writeRange(dataset: string, from: number, to: number, rows: Table | readonly RecordBatch[]): Promise<number> {
    checkRange(from, to);
    const def = this.def(dataset);
    const table = this.qualified(dataset);
    const batches = Array.isArray(rows) ? (rows as readonly RecordBatch[]) : (rows as Table).batches;
    const columns = def.columns.map((c) => quoteIdent(c.name)).join(', ');
    return this.transaction(`writing ${dataset} blocks ${from}-${to}`, async (client) => {
      await client.query(`DELETE FROM ${table} WHERE block_number BETWEEN $1 AND $2`, [from, to]);
      const copy = client.query(copyFrom(`COPY ${table} (${columns}) FROM STDIN (FORMAT binary)`));
      await pipeline(Readable.from(encodeBinaryCopy(def, batches, { from, to }), { objectMode: true }), copy);
      return copy.rowCount;
    });
  }

  /** Deletes the rows of blocks [from, to]; returns how many. */
  async deleteRange(dataset: string, from: number, to: number): Promise<number> {
    checkRange(from, to);
    const result = await this.pool.query(`DELETE FROM ${this.qualified(dataset)} WHERE block_number BETWEEN $1 AND $2`, [from, to]);
    return result.rowCount ?? 0;
  }

  /**
   * Deletes every row above `forkPoint` (up to block `through`, if given) from every dataset's table, in one
   * transaction.
   */
  async deleteAbove(forkPoint: number, through = Number.MAX_SAFE_INTEGER): Promise<DeletedRows> {
    blockBound('forkPoint', forkPoint);
    blockBound('through', through);
    return this.transaction(`deleting blocks above ${forkPoint}`, async (client) => {
      let rows = 0;
      let maxBlock: number | undefined;
      for (const def of this.defs.values()) {
        const { rows: [r] } = await client.query<{ n: string; max: string | null }>(
          `WITH deleted AS (DELETE FROM ${this.qualified(def.name)} WHERE block_number > $1 AND block_number <= $2 RETURNING block_number)
           SELECT count(*) AS n, max(block_number) AS max FROM deleted`,
          [forkPoint, through],
        );
        rows += Number(r.n);
        if (r.max !== null) maxBlock = Math.max(maxBlock ?? -1, Number(r.max));
      }
      return { rows, maxBlock };
    });
  }

  /** Lowest and highest block held for the dataset, or undefined when its table is empty. */
  async heights(dataset: string): Promise<BlockHeights | undefined> {
    const { rows: [r] } = await this.pool.query<{ min: string | null; max: string | null }>(
      `SELECT min(block_number) AS min, max(block_number) AS max FROM ${this.qualified(dataset)}`,
    );
    return r.min === null || r.max === null ? undefined : { min: Number(r.min), max: Number(r.max) };
  }

  /** Hash and parent hash of the blocks in [from, to] that the hot `blocks` table holds. */
  async blockLinks(from: number, to: number): Promise<Map<number, BlockLink>> {
    checkRange(from, to);
    const { rows } = await this.pool.query<{ block_number: string; block_hash: string; parent_hash: string }>(
      `SELECT block_number, block_hash, parent_hash FROM ${this.qualified('blocks')} WHERE block_number BETWEEN $1 AND $2`,
      [from, to],
    );
    return new Map(rows.map((r) => [Number(r.block_number), { hash: r.block_hash, parentHash: r.parent_hash }]));
  }

  /**
   * The rows of blocks [from, to] in sort-key order, as record batches of at most `batchRows` rows with the
   * dataset's Arrow schema. One consistent snapshot, streamed (binary COPY TO): memory stays bounded whatever the
   * range holds. Stopping the iteration early is fine.
   */
  async *readRange(dataset: string, from: number, to: number, batchRows = 65_536): AsyncGenerator<RecordBatch> {
    const client = await this.pool.connect();
    let finished = false;
    try {
      yield* this.copyOut(client, dataset, from, to, batchRows);
      finished = true;
    } finally {
      // A COPY abandoned half-way leaves the connection mid-protocol: discard it rather than reuse it.
      client.release(finished ? undefined : true);
    }
  }

  /**
   * The hot tables as they are now, to read later: one REPEATABLE READ transaction, so every range read
   * through it sees the same moment whatever the archiver and compactor do meanwhile. Release it when done.
   */
  async snapshot(): Promise<HotSnapshot> {
    const client = await this.pool.connect();
    try {
      // The snapshot is taken by the first statement of the transaction, not by BEGIN.
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await client.query('SELECT 1');
    } catch (err) {
      client.release(true);
      throw new Error(`hot tier: opening a snapshot failed: ${describe(err)}`, { cause: err });
    }
    let broken = false;
    let released = false;
    return {
      readRange: (dataset, from, to, batchRows = 65_536) => this.copyOut(client, dataset, from, to, batchRows, () => (broken = true)),
      release: async () => {
        if (released) return;
        released = true;
        if (!broken) await client.query('COMMIT').catch(() => (broken = true));
        client.release(broken ? true : undefined);
      },
    };
  }

  private async *copyOut(
    client: PoolClient,
    dataset: string,
    from: number,
    to: number,
    batchRows: number,
    onAbandoned?: () => void,
  ): AsyncGenerator<RecordBatch> {
    checkRange(from, to);
    if (!Number.isSafeInteger(batchRows) || batchRows < 1) throw new Error(`batchRows must be a positive integer, got ${batchRows}`);
    const def = this.def(dataset);
    const columns = def.columns.map((c) => quoteIdent(c.name)).join(', ');
    const order = def.sortKey.map(quoteIdent).join(', ');
    // COPY takes no parameters; from and to are checked integers.
    const sql = `COPY (SELECT ${columns} FROM ${this.qualified(dataset)} WHERE block_number BETWEEN ${from} AND ${to} ORDER BY ${order}) TO STDOUT (FORMAT binary)`;
    let finished = false;
    const stream = client.query(copyTo(sql));
    try {
      const decoder = new BinaryCopyDecoder(def, batchRows);
      for await (const chunk of stream) yield* decoder.push(chunk as Buffer);
      const last = decoder.end();
      finished = true;
      if (last) yield last;
    } catch (err) {
      throw new Error(`hot tier: reading ${dataset} blocks ${from}-${to} failed: ${describe(err)}`, { cause: err });
    } finally {
      if (!finished) {
        stream.destroy();
        onAbandoned?.();
      }
    }
  }

  private def(dataset: string): DatasetDef {
    const def = this.defs.get(dataset);
    if (!def) throw new Error(`hot tier: no table for dataset "${dataset}" (ready: ${[...this.defs.keys()].join(', ') || 'none'}); call ensureTables first`);
    return def;
  }

  private tableName(dataset: string): string {
    return hotTableName(this.chain, dataset);
  }

  private qualified(dataset: string): string {
    this.def(dataset);
    return `${quoteIdent(this.schema)}.${quoteIdent(this.tableName(dataset))}`;
  }

  /** One transaction on a dedicated connection; a failure rolls back and discards the connection. */
  private async transaction<T>(what: string, fn: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release(true);
      if (err instanceof RowError) throw err;
      throw new Error(`hot tier: ${what} failed: ${describe(err)}`, { cause: err });
    }
  }
}

/** A PostgreSQL error with its detail and where it happened (e.g. the COPY line and column). */
function describe(err: unknown): string {
  const e = err as { message?: string; detail?: string; where?: string };
  return [e.message ?? String(err), e.detail, e.where].filter(Boolean).join('; ');
}
