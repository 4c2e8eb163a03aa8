import { Kvm, type KV } from '@nats-io/kv';
import { StorageType } from '@nats-io/jetstream';
import type { Bus } from './connect.js';

export interface Checkpoints {
  get(key: string): Promise<string | undefined>;
  put(key: string, value: string): Promise<void>;
}

/** Every KV bucket this library creates for a prefix (so deleteStreams can remove them). */
export function kvBucketNames(prefix: string): string[] {
  return [`${prefix}_checkpoints`];
}

/** The prefix's checkpoint bucket (`<prefix>_checkpoints`), created if missing. Keys like `source.synthetic`. */
export async function checkpoints(bus: Bus): Promise<Checkpoints> {
  const [bucket] = kvBucketNames(bus.prefix);
  const kv: KV = await new Kvm(bus.js).create(bucket, { history: 1, storage: StorageType.File });
  return {
    async get(key) {
      const entry = await kv.get(key);
      return entry && entry.operation === 'PUT' ? entry.string() : undefined;
    },
    async put(key, value) {
      await kv.put(key, value);
    },
  };
}
