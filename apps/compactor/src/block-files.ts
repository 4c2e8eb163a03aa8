import type { RecordBatch } from 'apache-arrow';

/** Rows of whole blocks only: zero-copy slices, and how many rows each block has, in order. */
interface BlockChunk {
  slices: RecordBatch[];
  runs: Array<{ block: number; rows: number }>;
}

function blockNumbers(batch: RecordBatch, column: string): (row: number) => number {
  const data = batch.getChild(column)?.data[0];
  if (!data) throw new Error(`record batch has no ${column} column`);
  // Arrow JS slices value buffers with the data: element i is row i, whatever `data.offset` says.
  const values = data.values as BigInt64Array;
  return (row) => Number(values[row]);
}

/**
 * Re-cuts batches sorted by block number into chunks of whole blocks: the last block of a batch may continue in the
 * next batch, so its rows are held back until the block is complete.
 */
async function* wholeBlocks(batches: AsyncIterable<RecordBatch>, column: string): AsyncGenerator<BlockChunk> {
  let carry: { slices: RecordBatch[]; block: number; rows: number } | undefined;
  for await (const batch of batches) {
    if (batch.numRows === 0) continue;
    const blockAt = blockNumbers(batch, column);
    const runs: Array<{ block: number; start: number; rows: number }> = [];
    for (let row = 0; row < batch.numRows; ) {
      const block = blockAt(row);
      let next = row + 1;
      while (next < batch.numRows && blockAt(next) === block) next++;
      runs.push({ block, start: row, rows: next - row });
      row = next;
    }
    const out: BlockChunk = { slices: [], runs: [] };
    if (carry) {
      if (carry.block === runs[0].block) {
        carry.slices.push(batch.slice(0, runs[0].rows));
        carry.rows += runs[0].rows;
        runs.shift();
        if (runs.length === 0) continue;
      }
      out.slices.push(...carry.slices);
      out.runs.push({ block: carry.block, rows: carry.rows });
    }
    const last = runs.pop()!;
    if (runs.length > 0) {
      out.slices.push(batch.slice(runs[0].start, last.start));
      out.runs.push(...runs.map(({ block, rows }) => ({ block, rows })));
    }
    carry = { slices: [batch.slice(last.start, last.start + last.rows)], block: last.block, rows: last.rows };
    if (out.runs.length > 0) yield out;
  }
  if (carry) yield { slices: carry.slices, runs: [{ block: carry.block, rows: carry.rows }] };
}

/** The first `rows` rows of `slices`, and the rest (zero-copy). */
function splitRows(slices: readonly RecordBatch[], rows: number): [RecordBatch[], RecordBatch[]] {
  const head: RecordBatch[] = [];
  let left = rows;
  let i = 0;
  for (; i < slices.length && left > 0; i++) {
    const slice = slices[i];
    if (slice.numRows <= left) {
      head.push(slice);
      left -= slice.numRows;
    } else {
      head.push(slice.slice(0, left));
      return [head, [slice.slice(left), ...slices.slice(i + 1)]];
    }
  }
  return [head, slices.slice(i)];
}

/** What one file of the cut holds: its first and last block and its rows. */
export interface CutFile {
  first: number;
  last: number;
  rows: number;
}

/**
 * Cuts a stream of rows sorted by block number into files: each holds whole blocks of one partition, at most
 * `maxRows` rows unless a single block has more. Read one file at a time with `nextFile()`; memory holds only the
 * batches in flight.
 */
export class BlockFileCutter {
  private chunk: BlockChunk | undefined;
  private readonly source: AsyncGenerator<BlockChunk>;

  constructor(
    batches: AsyncIterable<RecordBatch>,
    private readonly options: { blockColumn: string; maxRows: number; partitionEnd(block: number): number; signal: AbortSignal },
  ) {
    this.source = wholeBlocks(batches, options.blockColumn);
  }

  /** The block the next file starts with; undefined when every row has been cut. */
  async nextBlock(): Promise<number | undefined> {
    while (!this.chunk || this.chunk.runs.length === 0) {
      const next = await this.source.next();
      if (next.done) return undefined;
      this.chunk = next.value;
    }
    return this.chunk.runs[0].block;
  }

  /** The rows of the next file, as they arrive; `file` is updated as rows are taken. */
  async *nextFile(file: CutFile): AsyncGenerator<RecordBatch> {
    const first = await this.nextBlock();
    if (first === undefined) return;
    const partitionEnd = this.options.partitionEnd(first);
    Object.assign(file, { first, last: first, rows: 0 });
    for (;;) {
      this.options.signal.throwIfAborted();
      if ((await this.nextBlock()) === undefined) return;
      const chunk = this.chunk!;
      let take = 0;
      let rows = 0;
      for (const run of chunk.runs) {
        if (file.rows + rows > 0 && (run.block > partitionEnd || file.rows + rows + run.rows > this.options.maxRows)) break;
        take++;
        rows += run.rows;
        file.last = run.block;
      }
      const [head, tail] = splitRows(chunk.slices, rows);
      this.chunk = { slices: tail, runs: chunk.runs.slice(take) };
      file.rows += rows;
      yield* head;
      if (this.chunk.runs.length > 0) return;
    }
  }

  /** Stops reading the source early (e.g. after a failure). */
  async close(): Promise<void> {
    await this.source.return(undefined);
  }
}
