import { StoredMessage, type Bus, type Checkpoints } from '@chainlake/bus';
import type { HotStore } from '@chainlake/hot';
import type { FinalizedHeight } from './finality.js';

/**
 * How far each dataset's hot rows have been compacted, in the bus's checkpoint bucket (key
 * `compactor.<chain>.<dataset>`): with delete_after_compact off the rows stay in the hot tier, so their heights
 * alone cannot tell what is done.
 */
export class CompactedHeights {
  constructor(
    private readonly checkpoints: Checkpoints,
    private readonly chain: string,
  ) {}

  private key(dataset: string): string {
    return `compactor.${this.chain}.${dataset}`;
  }

  async get(dataset: string): Promise<number | undefined> {
    const value = await this.checkpoints.get(this.key(dataset));
    return value === undefined ? undefined : Number(value);
  }

  /** Records [from, to] as compacted when it continues what was (a repair of an older range moves nothing). */
  async advance(dataset: string, from: number, to: number): Promise<void> {
    const done = await this.get(dataset);
    if (done === undefined || (from <= done + 1 && to > done)) await this.checkpoints.put(this.key(dataset), String(to));
  }
}

export interface HotRanges {
  hot: HotStore;
  finalized: FinalizedHeight;
  compacted: CompactedHeights;
}

/** The finalized blocks of a dataset waiting in the hot tier and not yet compacted, or undefined when none. */
export async function pendingHotRange(ranges: HotRanges, dataset: string): Promise<{ from: number; to: number } | undefined> {
  const finalized = ranges.finalized.value;
  if (finalized === undefined) return undefined;
  const heights = await ranges.hot.heights(dataset);
  if (!heights) return undefined;
  const done = await ranges.compacted.get(dataset);
  const from = Math.max(heights.min, done === undefined ? 0 : done + 1);
  const to = Math.min(heights.max, finalized);
  return from <= to ? { from, to } : undefined;
}

export interface ThresholdOptions extends HotRanges {
  bus: Bus;
  chain: string;
  datasets: readonly string[];
  /** Blocks that must wait before a job starts. */
  blocks: number;
  /** Checks at most this often. */
  intervalMs: number;
  compact(dataset: string, range: { from: number; to: number }): Promise<unknown>;
  onInvalid(err: Error): void;
  onError(err: Error): void;
}

/**
 * The threshold trigger: whenever the finalized height advances (head messages) or the archiver stores hot rows
 * (`events.stored`), checks every dataset and starts hot→cold for its finalized hot range once that holds
 * `blocks` blocks. One check at a time; one job per dataset at a time.
 */
export function startThreshold(options: ThresholdOptions): { check(): void; stop(): void } {
  const running = new Set<string>();
  let checking = false;
  let again = false;
  let lastCheck = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const runCheck = async (): Promise<void> => {
    for (const dataset of options.datasets) {
      if (running.has(dataset)) continue;
      const range = await pendingHotRange(options, dataset);
      if (!range || range.to - range.from + 1 < options.blocks) continue;
      running.add(dataset);
      void options
        .compact(dataset, range)
        .catch((err: Error) => options.onError(err))
        .finally(() => {
          running.delete(dataset);
          check();
        });
    }
  };

  function check(): void {
    if (stopped) return;
    if (checking) {
      again = true;
      return;
    }
    const wait = lastCheck + options.intervalMs - Date.now();
    if (wait > 0) {
      timer ??= setTimeout(() => {
        timer = undefined;
        check();
      }, wait);
      return;
    }
    checking = true;
    lastCheck = Date.now();
    runCheck()
      .catch((err: Error) => options.onError(err))
      .finally(() => {
        checking = false;
        if (again) {
          again = false;
          check();
        }
      });
  }

  const stored = options.bus.nc.subscribe(options.bus.subjects.stored(options.chain), {
    callback: (err, msg) => {
      if (err) return;
      try {
        if (StoredMessage.decode(msg.data).tier === 'hot') check();
      } catch (error) {
        options.onInvalid(error as Error);
      }
    },
  });
  return {
    check,
    stop() {
      stopped = true;
      clearTimeout(timer);
      stored.unsubscribe();
    },
  };
}
