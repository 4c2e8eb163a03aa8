import { createReadStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArenaLease, SlabArena } from '@chainlake/arena';
import { RecordBatchReader, tableToIPC, type RecordBatch, type Schema, type Table } from 'apache-arrow';
import { copyTable } from './copy.js';

export interface SpoolOptions {
  /** Folder for segments that do not fit in memory; emptied on open. */
  dir: string;
  /** Segments are kept as Arrow tables in memory up to this many bytes, then spill to disk. */
  memoryBytes: number;
  /** Memory plus disk: a put that would go past it waits (backpressure). */
  maxBytes: number;
  /**
   * Reused memory for the memory tier: a segment put there is copied into it, so that segments
   * waiting for their consumers do not drive V8's external-memory collections (libs/arena).
   */
  arena?: SlabArena;
}

/** Memory a caller's tables live in, given back once the spool no longer reads them. */
export interface Releasable { release(): void }

export interface SpoolUsage { segments: number; memoryBytes: number; diskBytes: number }

/** A dataset held for one reader: `done` ends the hold, which keeps the segment's memory valid until then. */
export interface SpooledDataset { schema: Schema; rows: number; bytes: number; batches(): AsyncIterable<RecordBatch>; done(): void }

interface Entry {
  key: string;
  bytes: number;
  datasets: Map<string, { table?: Table; file?: string; schema: Schema; rows: number; bytes: number }>;
  /** JetStream sequence of the announcement; released once every consumer acked past it. */
  announcedSeq?: number;
  /** Unannounced entries (re-produced on request) are released after this time. */
  expiresAt?: number;
  /** What the in-memory tables live in, given back once the entry is released and no reader holds it. */
  memory?: Releasable;
  readers: number;
  released: boolean;
}

export class SpoolClosedError extends Error {
  constructor() {
    super('spool is closed');
  }
}

/** Bytes of the Arrow buffers behind a table: what it costs to hold, and roughly to send. */
export const tableBytes = (table: Table): number => table.data.reduce((sum, d) => sum + d.byteLength, 0);
const safeName = (key: string): string => key.replace(/[^A-Za-z0-9_.-]/g, '_');

/**
 * A bounded store of produced segments, served to consumers over Flight until every consumer
 * is done with them. Memory first, disk when memory is full, and a producer that waits when
 * both are full.
 */
export class Spool {
  private readonly entries = new Map<string, Entry>();
  private memoryBytes = 0;
  private diskBytes = 0;
  private waiters: Array<() => void> = [];
  private closed = false;

  private constructor(private readonly options: SpoolOptions) {}

  static async open(options: SpoolOptions): Promise<Spool> {
    await rm(options.dir, { recursive: true, force: true });
    await mkdir(options.dir, { recursive: true });
    return new Spool(options);
  }

  usage(): SpoolUsage {
    return { segments: this.entries.size, memoryBytes: this.memoryBytes, diskBytes: this.diskBytes };
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /**
   * Stores the datasets of one segment, replacing an earlier copy. Waits while the spool is full
   * unless `urgent` (a re-production somebody is waiting for), which may go over the limit; an
   * aborted `signal` ends the wait with its reason (a service shutting down). With `spill: false`
   * it waits for room in memory instead of spilling to disk: for a producer that is not racing
   * the chain (a backfill), pausing costs less than writing segments out and reading them back.
   */
  async put(
    key: string,
    tables: Record<string, Table>,
    options: { urgent?: boolean; ttlMs?: number; signal?: AbortSignal; spill?: boolean; memory?: Releasable } = {},
  ): Promise<void> {
    let copyInto: ArenaLease | undefined;
    let reserved: 'memory' | 'disk' | undefined;
    const bytes = Object.values(tables).reduce((sum, t) => sum + tableBytes(t), 0);
    try {
      await this.release(key);
      reserved = options.urgent ? this.reserve(bytes) : await this.waitForRoom(bytes, options.spill ?? true, options.signal);
      const toDisk = reserved === 'disk';
      const entry: Entry = {
        key, bytes, datasets: new Map(), expiresAt: options.ttlMs ? Date.now() + options.ttlMs : undefined, readers: 0, released: false,
      };
      copyInto = toDisk ? undefined : this.options.arena?.lease();
      for (const [name, table] of Object.entries(tables)) {
        const meta = { schema: table.schema, rows: table.numRows, bytes: tableBytes(table) };
        if (toDisk) {
          const file = join(this.options.dir, `${safeName(key)}.${safeName(name)}.arrows`);
          await writeFile(file, tableToIPC(table, 'stream'));
          entry.datasets.set(name, { ...meta, file });
        } else {
          entry.datasets.set(name, { ...meta, table: copyInto ? copyTable(table, copyInto.allocate) : table });
        }
      }
      // Unless the entry keeps the caller's tables themselves, their memory goes back now.
      const keepsCallerTables = !toDisk && !copyInto;
      if (!keepsCallerTables) options.memory?.release();
      entry.memory = copyInto ?? (keepsCallerTables ? options.memory : undefined);
      this.entries.set(key, entry);
    } catch (err) {
      if (reserved === 'disk') this.diskBytes -= bytes;
      if (reserved === 'memory') this.memoryBytes -= bytes;
      if (reserved) this.wake();
      copyInto?.release();
      options.memory?.release();
      throw err;
    }
  }

  /** Holds the dataset for one reader until its `done()`; the segment's memory stays valid while held. */
  get(key: string, dataset: string): SpooledDataset | undefined {
    const entry = this.entries.get(key);
    const stored = entry?.datasets.get(dataset);
    if (!entry || !stored) return undefined;
    const { table, file, schema, rows, bytes } = stored;
    const batches = table
      ? async function* () { yield* table.batches; }
      : async function* () { yield* await RecordBatchReader.from(createReadStream(file!)); };
    entry.readers++;
    let held = true;
    const done = (): void => {
      if (!held) return;
      held = false;
      entry.readers--;
      if (entry.released && entry.readers === 0) entry.memory?.release();
    };
    return { schema, rows, bytes, batches, done };
  }

  datasets(key: string): string[] {
    return [...(this.entries.get(key)?.datasets.keys() ?? [])];
  }

  markAnnounced(key: string, seq: number): void {
    const entry = this.entries.get(key);
    if (entry) entry.announcedSeq = seq;
  }

  /** Releases every announced segment at or below the consumers' ack floor and every expired one. */
  async releaseDone(ackFloorSeq: number, now = Date.now()): Promise<number> {
    let released = 0;
    for (const entry of [...this.entries.values()]) {
      const consumed = entry.announcedSeq !== undefined && entry.announcedSeq <= ackFloorSeq;
      const expired = entry.expiresAt !== undefined && entry.expiresAt <= now;
      if (consumed || expired) {
        await this.release(entry.key);
        released++;
      }
    }
    return released;
  }

  async release(key: string): Promise<void> {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    entry.released = true;
    if (entry.readers === 0) entry.memory?.release();
    const onDisk = [...entry.datasets.values()].some((d) => d.file);
    if (onDisk) this.diskBytes -= entry.bytes;
    else this.memoryBytes -= entry.bytes;
    await Promise.all([...entry.datasets.values()].map((d) => (d.file ? rm(d.file, { force: true }) : undefined)));
    this.wake();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake();
    for (const key of [...this.entries.keys()]) await this.release(key);
  }

  private async waitForRoom(bytes: number, spill: boolean, signal?: AbortSignal): Promise<'memory' | 'disk'> {
    // A segment larger than the whole spool (or memory tier) is let in once that is empty, never refused forever.
    const full = (): boolean =>
      (this.entries.size > 0 && this.memoryBytes + this.diskBytes + bytes > this.options.maxBytes) ||
      (!spill && this.memoryBytes > 0 && this.memoryBytes + bytes > this.options.memoryBytes);
    while (!this.closed && full()) {
      signal?.throwIfAborted();
      // The signal lives as long as the service: each wait takes its listener off again.
      await new Promise<void>((resolve) => {
        const onAbort = (): void => resolve();
        signal?.addEventListener('abort', onAbort, { once: true });
        this.waiters.push(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    }
    signal?.throwIfAborted();
    return this.reserve(bytes);
  }

  /** Counts the bytes in the tier they will go to, in the same turn as the room was found: puts woken together must not all see the same room. */
  private reserve(bytes: number): 'memory' | 'disk' {
    if (this.closed) throw new SpoolClosedError();
    if (this.memoryBytes + bytes > this.options.memoryBytes) {
      this.diskBytes += bytes;
      return 'disk';
    }
    this.memoryBytes += bytes;
    return 'memory';
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
