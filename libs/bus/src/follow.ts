import { DeliverPolicy } from '@nats-io/jetstream';
import type { Bus } from './connect.js';
import { MessageError, type Codec } from './codec.js';

export interface FollowOptions<T> {
  stream: string;
  subject: string;
  codec: Codec<T>;
  /** Must not throw. */
  onMessage(message: T): void;
  onInvalid?(error: MessageError): void;
}

export interface Following {
  /** Resolves once every message stored when following began has been handled. */
  readonly caughtUp: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Every message of `subject` the stream still keeps, oldest first, then each new one as it arrives, through an
 * ordered consumer: no durable state, nothing to ack, every replica sees everything. For state a process
 * rebuilds from the stream at start (e.g. the block ranges reorgs replaced).
 */
export async function followSubject<T>(bus: Bus, options: FollowOptions<T>): Promise<Following> {
  const last = await bus.jsm.streams.getMessage(options.stream, { last_by_subj: options.subject });
  const consumer = await bus.js.consumers.get(options.stream, { filter_subjects: options.subject, deliver_policy: DeliverPolicy.All });
  const messages = await consumer.consume();
  let markCaughtUp!: () => void;
  const caughtUp = new Promise<void>((resolve) => (markCaughtUp = resolve));
  if (last === null) markCaughtUp();
  const loop = (async () => {
    for await (const msg of messages) {
      let message: T | undefined;
      try {
        message = options.codec.decode(msg.data);
      } catch (err) {
        options.onInvalid?.(err instanceof MessageError ? err : new MessageError(String(err)));
      }
      if (message !== undefined) options.onMessage(message);
      if (last !== null && msg.seq >= last.seq) markCaughtUp();
    }
  })();
  return {
    caughtUp,
    stop: async () => {
      await messages.close();
      await loop;
    },
  };
}
