import type { Bus } from './connect.js';
import type { Codec } from './codec.js';

/**
 * Publishes to JetStream and waits for the stream's ack. With `msgId`, a second publish of the same id within
 * the stream's duplicate window is not stored again and reports `duplicate: true`.
 */
export async function publishDurable<T>(
  bus: Bus,
  subject: string,
  codec: Codec<T>,
  value: NoInfer<T>,
  msgId?: string,
): Promise<{ seq: number; duplicate: boolean }> {
  const ack = await bus.js.publish(subject, codec.encode(value), msgId === undefined ? undefined : { msgID: msgId });
  return { seq: ack.seq, duplicate: ack.duplicate };
}

/** Core NATS publish: fire and forget, for messages whose latest value is all that matters (heads). */
export function publishCore<T>(bus: Bus, subject: string, codec: Codec<T>, value: NoInfer<T>): void {
  bus.nc.publish(subject, codec.encode(value));
}
