import { FlightClient, FlightError, type MessageAllocator } from '@chainlake/flight';
import { Table, type RecordBatch } from 'apache-arrow';

export interface SegmentLocation { location: string; tickets: Record<string, string> }

/**
 * Pulls the datasets of a segment from its producer over Flight. When the producer no longer
 * has it (NOT_FOUND, or the producer is gone), asks for a re-production once and pulls again.
 */
export class SegmentFetcher {
  private readonly clients = new Map<string, FlightClient>();

  /** A fetch that takes longer than `timeoutMs` (a wedged or wrong peer) counts as gone. */
  constructor(private readonly timeoutMs = 30_000) {}

  /** With `allocate`, the tables' data lives in the memory it returns (see FlightClient.doGet). */
  async fetch(
    at: SegmentLocation,
    datasets: readonly string[],
    reproduce: () => Promise<SegmentLocation>,
    allocate?: MessageAllocator,
  ): Promise<Record<string, Table>> {
    try {
      return await this.fetchFrom(at, datasets, allocate);
    } catch (err) {
      if (!isGone(err)) throw err;
      return this.fetchFrom(await reproduce(), datasets, allocate);
    }
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  private async fetchFrom(at: SegmentLocation, datasets: readonly string[], allocate?: MessageAllocator): Promise<Record<string, Table>> {
    const client = this.client(at.location);
    // One failed dataset cancels the others, and the fetch fails only once all have stopped: none
    // may still be writing into memory from `allocate` when the caller gives it back.
    const stop = new AbortController();
    const signal = AbortSignal.any([stop.signal, AbortSignal.timeout(this.timeoutMs)]);
    let failure: unknown;
    const results = await Promise.allSettled(
      datasets.map(async (name) => {
        try {
          const ticket = at.tickets[name];
          if (ticket === undefined) throw new Error(`segment announcement has no ticket for dataset "${name}"`);
          const { schema, batches } = await client.doGet(ticket, { signal, allocate });
          const all: RecordBatch[] = [];
          for await (const batch of batches) all.push(batch);
          return [name, new Table(schema, all)] as const;
        } catch (err) {
          failure ??= err;
          stop.abort();
          throw err;
        }
      }),
    );
    if (failure !== undefined) throw failure;
    return Object.fromEntries(results.map((result) => (result as PromiseFulfilledResult<readonly [string, Table]>).value));
  }

  private client(location: string): FlightClient {
    let client = this.clients.get(location);
    if (!client) {
      client = new FlightClient(location);
      this.clients.set(location, client);
    }
    return client;
  }
}

const isGone = (err: unknown): boolean =>
  err instanceof FlightError && (err.code === 'NOT_FOUND' || err.code === 'UNAVAILABLE' || err.code === 'CANCELLED');
