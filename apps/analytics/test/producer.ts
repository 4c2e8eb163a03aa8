import type { Table } from 'apache-arrow';
import { publishDurable, TypedSegmentMessage, type Bus } from '@chainlake/bus';
import { decode } from '@chainlake/chain-evm';
import { SyntheticChain, syntheticOptionsFromEnv } from '@chainlake/chain-synthetic';
import { FlightServer } from '@chainlake/flight';

/**
 * Stands in for the transformer: typed transactions of the synthetic chain, served over Flight and
 * announced on `typed.segments` one block range at a time, as the test decides.
 */
export class TypedProducer {
  private readonly tables = new Map<string, Table>();
  private readonly chain: SyntheticChain;
  private readonly server = new FlightServer(
    {
      doGet: async (ticket) => {
        const table = this.tables.get(ticket.toString('utf8'));
        if (!table) throw new Error(`no segment for ticket ${ticket.toString('utf8')}`);
        return { schema: table.schema, batches: table.batches };
      },
    },
    { host: '127.0.0.1', port: 0 },
  );

  constructor(
    private readonly bus: Bus,
    env: Record<string, string>,
  ) {
    this.chain = new SyntheticChain(syntheticOptionsFromEnv(env));
  }

  start(): Promise<number> {
    return this.server.start();
  }

  /** The typed transactions of blocks [from, to]. */
  transactions(from: number, to: number): Table {
    return decode(this.chain.rawSegment(from, to), 1337).transactions as unknown as Table;
  }

  /** Serves and announces blocks [from, to]; resolves with their transactions. */
  async announce(from: number, to: number): Promise<Table> {
    const table = this.transactions(from, to);
    const ticket = JSON.stringify({ segment: `synthetic:${from}-${to}`, dataset: 'transactions' });
    this.tables.set(ticket, table);
    await publishDurable(this.bus, this.bus.subjects.typedSegments('synthetic'), TypedSegmentMessage, {
      v: 1, chain: 'synthetic', from, to,
      datasets: { transactions: { rows: table.numRows, bytes: 0 } },
      location: this.server.location,
      tickets: { transactions: ticket },
    });
    return table;
  }

  stop(): Promise<void> {
    return this.server.stop(1000);
  }
}

/** Rows and sum of gas_used of a typed transactions table. */
export function gasTotals(table: Table): { rows: number; gas: number } {
  let gas = 0;
  for (const v of table.getChild('gas_used')!) gas += Number(v);
  return { rows: table.numRows, gas };
}
