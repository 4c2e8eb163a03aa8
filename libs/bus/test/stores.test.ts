import { describe, expect, it } from 'vitest';
import { testNatsUrl, uniquePrefix } from '@chainlake/testkit';
import { connectBus, deleteStreams, keyValue, objectStore } from '../src/index.js';

describe('KV buckets and object stores of a prefix', () => {
  it('holds values larger than a NATS message, and deleteStreams removes them all', async () => {
    const bus = await connectBus({ servers: testNatsUrl(), prefix: uniquePrefix('stores'), name: 'stores-test' });
    const kv = await keyValue(bus, 'analytics_definitions');
    await kv.put('fees', '{"name":"fees"}');
    expect((await kv.get('fees'))?.string()).toBe('{"name":"fees"}');
    const store = await objectStore(bus, 'analytics_state');
    const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
    await store.putBlob({ name: 'fees' }, big);
    expect(await store.getBlob('fees')).toEqual(big);

    await deleteStreams(bus);
    const left: string[] = [];
    for await (const s of bus.jsm.streams.list()) if (s.config.name.includes(bus.prefix)) left.push(s.config.name);
    expect(left).toEqual([]);
    await bus.drain();
  });
});
