import { nanos } from '@nats-io/transport-node';
import { DiscardPolicy, JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType, type StreamConfig } from '@nats-io/jetstream';
import type { Bus } from './connect.js';
import { streamSubjects, type StreamNames } from './subjects.js';
import { kvBucketNames, objectStoreNames } from './checkpoints.js';

const DEFAULT_MAX_AGE_MS = 7 * 24 * 3600_000;
const DUPLICATE_WINDOW_MS = 2 * 60_000;

function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

/** Creates the prefix's streams, or updates them to this configuration; safe to call from every replica at once. */
export async function ensureStreams(bus: Bus, options: { maxAgeMs?: number } = {}): Promise<void> {
  const maxAgeMs = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
  if (!Number.isInteger(maxAgeMs) || maxAgeMs < 1_000) throw new Error(`maxAgeMs must be an integer ≥ 1000, got ${maxAgeMs}`);
  const subjects = streamSubjects(bus.prefix);
  for (const kind of Object.keys(subjects) as (keyof StreamNames)[]) {
    const config: Partial<StreamConfig> & { name: string } = {
      name: bus.streams[kind],
      subjects: subjects[kind],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_age: nanos(maxAgeMs),
      duplicate_window: nanos(Math.min(DUPLICATE_WINDOW_MS, maxAgeMs)),
    };
    try {
      await bus.jsm.streams.info(config.name);
      await bus.jsm.streams.update(config.name, config);
    } catch (err) {
      if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw err;
      try {
        await bus.jsm.streams.add(config);
      } catch (addError) {
        // Another replica created it in between: bring it to this configuration instead.
        if (!(await bus.jsm.streams.info(config.name).then(() => true, () => false))) throw addError;
        await bus.jsm.streams.update(config.name, config);
      }
    }
  }
}

/** Deletes the prefix's streams and KV buckets (test cleanup); missing ones are fine. */
export async function deleteStreams(bus: Bus): Promise<void> {
  const names = [
    ...Object.values(bus.streams),
    ...kvBucketNames(bus.prefix).map((bucket) => `KV_${bucket}`),
    ...objectStoreNames(bus.prefix).map((store) => `OBJ_${store}`),
  ];
  for (const name of names) {
    try {
      await bus.jsm.streams.delete(name);
    } catch (err) {
      if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw err;
    }
  }
}
