import { setTimeout as sleep } from 'node:timers/promises';
import { nanos } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type Consumer,
  type ConsumerConfig,
  type ConsumerMessages,
  type JsMsg,
} from '@nats-io/jetstream';
import { jitter, type Bus } from './connect.js';
import { MessageError, type Codec } from './codec.js';
import { DeadLetterMessage } from './messages.js';
import { publishDurable } from './publish.js';

export interface Delivery {
  ack(): void;
  /** Hands the message back for redelivery, after `delayMs` if given. */
  nak(delayMs?: number): void;
  /** Extends the ack deadline by another ack wait. */
  working(): void;
  /** Never redeliver. */
  term(): void;
  /**
   * For a message that can never succeed (its content is bad, not the moment): stores it on the
   * service's dead-letter subject with the reason, then terms it. If the dead letter cannot be
   * stored the message is handed back for redelivery instead, so nothing is lost.
   */
  deadLetter(reason: string): Promise<void>;
  /** 0 on the first delivery. */
  readonly redeliveryCount: number;
  readonly streamSeq: number;
}

export interface DurableConsumer {
  /** Stops fetching and waits for the handlers in flight. */
  stop(): Promise<void>;
  readonly running: boolean;
}

export interface ConsumeOptions<T> {
  stream: string;
  /** Shared by every replica of a service: replicas split the messages. */
  durable: string;
  filterSubject: string;
  codec: Codec<T>;
  /** Names the dead-letter subject for undecodable messages. */
  service: string;
  ackWaitMs?: number;
  maxAckPending?: number;
  maxDeliver?: number;
  /** Handlers in flight at once. */
  concurrency?: number;
  /** Acks or naks through `delivery`; if it throws, the message is nak'ed with a growing delay. */
  handler(message: T, delivery: Delivery): Promise<void>;
  onInvalid?(error: MessageError, raw: Uint8Array): void;
}

/** How long one pull request waits for messages before the loop asks again. */
const FETCH_EXPIRES_MS = 10_000;

export function retryDelayMs(redeliveryCount: number): number {
  return Math.min(1_000 * 2 ** redeliveryCount, 60_000);
}

function consumerConfig<T>(options: ConsumeOptions<T>): Partial<ConsumerConfig> {
  return {
    durable_name: options.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: options.filterSubject,
    ack_wait: nanos(options.ackWaitMs ?? 60_000),
    max_ack_pending: options.maxAckPending ?? 1_000,
    max_deliver: options.maxDeliver ?? -1,
  };
}

async function upsertConsumer(bus: Bus, stream: string, config: Partial<ConsumerConfig>): Promise<void> {
  const durable = config.durable_name as string;
  try {
    await bus.jsm.consumers.info(stream, durable);
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound) {
      await bus.jsm.consumers.add(stream, config);
      return;
    }
    throw err;
  }
  const { durable_name: _name, deliver_policy: _policy, ...updatable } = config;
  await bus.jsm.consumers.update(stream, durable, updatable);
}

class DeliveryImpl implements Delivery {
  settled = false;
  constructor(
    private readonly msg: JsMsg,
    private readonly sendToDeadLetter: (msg: JsMsg, reason: string) => Promise<boolean>,
  ) {}
  get redeliveryCount(): number {
    return this.msg.info.deliveryCount - 1;
  }
  get streamSeq(): number {
    return this.msg.info.streamSequence;
  }
  ack(): void {
    this.settled = true;
    this.msg.ack();
  }
  nak(delayMs?: number): void {
    this.settled = true;
    this.msg.nak(delayMs);
  }
  working(): void {
    this.msg.working();
  }
  term(): void {
    this.settled = true;
    this.msg.term();
  }
  async deadLetter(reason: string): Promise<void> {
    this.settled = true;
    await this.sendToDeadLetter(this.msg, reason);
  }
}

class DurableConsumerLoop<T> implements DurableConsumer {
  private stopped = false;
  private readonly stopping = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private slotFreed: (() => void) | undefined;
  private batch: ConsumerMessages | undefined;
  private readonly loop: Promise<void>;
  private readonly concurrency: number;

  constructor(
    private readonly bus: Bus,
    private readonly options: ConsumeOptions<T>,
  ) {
    this.concurrency = options.concurrency ?? 1;
    this.loop = this.run();
  }

  get running(): boolean {
    return !this.stopped;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    this.slotFreed?.();
    await this.batch?.close();
    await this.loop;
    await Promise.allSettled(this.inFlight);
  }

  private get context(): object {
    return { stream: this.options.stream, durable: this.options.durable };
  }

  private async run(): Promise<void> {
    let consumer: Consumer | undefined;
    let failures = 0;
    while (!this.stopped) {
      if (this.inFlight.size >= this.concurrency) {
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
        continue;
      }
      try {
        consumer ??= await this.bus.js.consumers.get(this.options.stream, this.options.durable);
        this.batch = await consumer.fetch({
          max_messages: this.concurrency - this.inFlight.size,
          expires: FETCH_EXPIRES_MS,
        });
        if (this.stopped) await this.batch.close();
        for await (const msg of this.batch) {
          if (this.stopped) msg.nak();
          else this.dispatch(msg);
        }
        failures = 0;
      } catch (err) {
        if (this.stopped) break;
        if (this.bus.nc.isClosed() || this.bus.nc.isDraining()) {
          this.bus.log.warn(this.context, 'nats connection closing; consumer stopped');
          break;
        }
        failures++;
        consumer = undefined;
        const retryInMs = jitter(Math.min(500 * 2 ** (failures - 1), 10_000));
        this.bus.log.warn({ ...this.context, err: (err as Error).message, retryInMs }, 'consumer fetch failed, recreating');
        await sleep(retryInMs, undefined, { signal: this.stopping.signal }).catch(() => {});
        if (this.stopped) break;
        await upsertConsumer(this.bus, this.options.stream, consumerConfig(this.options)).catch((e: Error) =>
          this.bus.log.warn({ ...this.context, err: e.message }, 'consumer recreate failed'),
        );
      } finally {
        this.batch = undefined;
      }
      if (this.bus.nc.isClosed() || this.bus.nc.isDraining()) break;
    }
    this.stopped = true;
  }

  private dispatch(msg: JsMsg): void {
    const done = this.handle(msg).finally(() => {
      this.inFlight.delete(done);
      this.slotFreed?.();
      this.slotFreed = undefined;
    });
    this.inFlight.add(done);
  }

  private async handle(msg: JsMsg): Promise<void> {
    let message: T;
    try {
      message = this.options.codec.decode(msg.data);
    } catch (err) {
      await this.deadLetter(msg, err as Error);
      return;
    }
    const delivery = new DeliveryImpl(msg, (m, reason) => this.storeDeadLetter(m, reason));
    try {
      await this.options.handler(message, delivery);
    } catch (err) {
      const delayMs = retryDelayMs(delivery.redeliveryCount);
      this.bus.log.error(
        { ...this.context, streamSeq: delivery.streamSeq, redeliveryCount: delivery.redeliveryCount, delayMs, err: (err as Error).message },
        'message handler failed; redelivering',
      );
      if (!delivery.settled) delivery.nak(delayMs);
    }
  }

  private async deadLetter(msg: JsMsg, err: Error): Promise<void> {
    const error = err instanceof MessageError ? err : new MessageError(err.message);
    this.bus.log.warn({ ...this.context, subject: msg.subject, streamSeq: msg.info.streamSequence, err: error.message }, 'invalid message dead-lettered');
    if (await this.storeDeadLetter(msg, error.message)) this.options.onInvalid?.(error, msg.data);
  }

  /** Publishes the dead letter and terms the message; on failure naks it instead and says false. */
  private async storeDeadLetter(msg: JsMsg, reason: string): Promise<boolean> {
    const { service } = this.options;
    try {
      await publishDurable(this.bus, this.bus.subjects.deadLetter(service), DeadLetterMessage, {
        v: 1,
        service,
        subject: msg.subject,
        reason,
        data: Buffer.from(msg.data).toString('base64'),
      });
    } catch (publishError) {
      // Keep the message until its dead letter is safely stored.
      this.bus.log.error({ ...this.context, err: (publishError as Error).message }, 'dead-letter publish failed; redelivering');
      msg.nak(retryDelayMs(msg.info.deliveryCount - 1));
      return false;
    }
    msg.term();
    return true;
  }}

/**
 * Consumes `filterSubject` from `stream` through a durable pull consumer (explicit ack, deliver all), created or
 * updated on start. Every replica using the same durable name shares it, so they split the messages. A message the
 * codec rejects goes to `deadLetter(service)` and never reaches the handler. The loop outlives reconnects and a
 * deleted consumer (it recreates it).
 */
export async function consumeDurable<T>(bus: Bus, options: ConsumeOptions<T>): Promise<DurableConsumer> {
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`concurrency must be an integer ≥ 1, got ${concurrency}`);
  try {
    await upsertConsumer(bus, options.stream, consumerConfig(options));
  } catch (err) {
    throw new Error(`cannot create consumer ${options.durable} on stream ${options.stream}: ${(err as Error).message}`, { cause: err });
  }
  return new DurableConsumerLoop(bus, options);
}
