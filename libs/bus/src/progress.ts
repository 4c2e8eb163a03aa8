import type { Bus } from './connect.js';
import { subjectsOverlap } from './subjects.js';

export interface ConsumerProgress {
  durable: string;
  /** Every message of the consumer up to this stream sequence is acked. */
  ackFloorSeq: number;
}

/**
 * Every durable consumer on `stream` that sees messages on `filterSubject` (its filter equals, covers or overlaps it;
 * no filter means the whole stream) with its ack floor. A producer whose message got stream sequence `seq` knows
 * every consumer is done with it once all ack floors are ≥ `seq`.
 */
export async function consumerProgress(bus: Bus, stream: string, filterSubject: string): Promise<ConsumerProgress[]> {
  const progress: ConsumerProgress[] = [];
  for await (const info of bus.jsm.consumers.list(stream)) {
    const { durable_name: durable, filter_subject: filter, filter_subjects: filters } = info.config;
    if (!durable) continue;
    const patterns = [...(filter ? [filter] : []), ...(filters ?? [])];
    if (patterns.length > 0 && !patterns.some((pattern) => subjectsOverlap(pattern, filterSubject))) continue;
    progress.push({ durable, ackFloorSeq: info.ack_floor.stream_seq });
  }
  return progress.sort((a, b) => a.durable.localeCompare(b.durable));
}
