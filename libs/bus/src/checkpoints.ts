import { Kvm, type KV } from '@nats-io/kv';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { StorageType } from '@nats-io/jetstream';
import type { Bus } from './connect.js';

export interface Checkpoints {
  get(key: string): Promise<string | undefined>;
  put(key: string, value: string): Promise<void>;
}

/** The KV buckets and object stores of a prefix, by purpose (so deleteStreams can remove them). */
const KV_BUCKETS = ['checkpoints', 'analytics_definitions'] as const;
const OBJECT_STORES = ['analytics_state'] as const;

/** Every KV bucket this library creates for a prefix (so deleteStreams can remove them). */
export function kvBucketNames(prefix: string): string[] {
  return KV_BUCKETS.map((name) => `${prefix}_${name}`);
}

export function objectStoreNames(prefix: string): string[] {
  return OBJECT_STORES.map((name) => `${prefix}_${name}`);
}

/** The prefix's KV bucket for `purpose` (`<prefix>_<purpose>`), created if missing. */
export function keyValue(bus: Bus, purpose: (typeof KV_BUCKETS)[number]): Promise<KV> {
  return new Kvm(bus.js).create(`${bus.prefix}_${purpose}`, { history: 1, storage: StorageType.File });
}

/** The prefix's object store for `purpose` (`<prefix>_<purpose>`), for values larger than a NATS message. */
export function objectStore(bus: Bus, purpose: (typeof OBJECT_STORES)[number]): Promise<ObjectStore> {
  return new Objm(bus.js).create(`${bus.prefix}_${purpose}`, { storage: StorageType.File });
}

/** The prefix's checkpoint bucket (`<prefix>_checkpoints`), created if missing. Keys like `source.synthetic`. */
export async function checkpoints(bus: Bus): Promise<Checkpoints> {
  const kv = await keyValue(bus, 'checkpoints');
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
