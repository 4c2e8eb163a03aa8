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
    const entries = await Promise.all(
      datasets.map(async (name) => {
        const ticket = at.tickets[name];
        if (ticket === undefined) throw new Error(`segment announcement has no ticket for dataset "${name}"`);
        const { schema, batches } = await client.doGet(ticket, { signal: AbortSignal.timeout(this.timeoutMs), allocate });
        const all: RecordBatch[] = [];
        for await (const batch of batches) all.push(batch);
        return [name, new Table(schema, all)] as const;
      }),
    );
    return Object.fromEntries(entries);
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
