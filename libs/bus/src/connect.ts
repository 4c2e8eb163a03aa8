import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { assertPrefix, createStreamNames, createSubjects, type StreamNames, type Subjects } from './subjects.js';

export interface BusLog {
  info(o: object, m?: string): void;
  warn(o: object, m?: string): void;
  error(o: object, m?: string): void;
}

export interface BusOptions {
  /** One NATS URL or several separated by commas. */
  servers: string;
  prefix: string;
  /** Connection name shown by the server (e.g. the service name). */
  name: string;
  log?: BusLog;
  /** Aborting it gives up the first connect (the returned promise rejects). */
  signal?: AbortSignal;
}

export interface Bus {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly prefix: string;
  readonly subjects: Subjects;
  readonly streams: StreamNames;
  readonly log: BusLog;
  /** For /readyz: false while disconnected, draining or closed. */
  isConnected(): boolean;
  /** Graceful close: flushes and unsubscribes everything. */
  drain(): Promise<void>;
}

const silentLog: BusLog = { info() {}, warn() {}, error() {} };

/** `ms` ± 25%, so replicas that lost the server together do not come back in lockstep. */
export function jitter(ms: number): number {
  return Math.round(ms * (0.75 + Math.random() * 0.5));
}

async function connectUntilSuccess(options: BusOptions, log: BusLog): Promise<NatsConnection> {
  const servers = options.servers.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await connect({
        servers,
        name: options.name,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1_000,
        reconnectJitter: 500,
      });
    } catch (err) {
      const retryInMs = jitter(Math.min(250 * 2 ** (attempt - 1), 5_000));
      log.warn({ servers: options.servers, attempt, retryInMs, err: (err as Error).message }, 'nats connect failed, retrying');
      await sleep(retryInMs, undefined, { signal: options.signal });
    }
  }
}

/** Connects (retrying until it succeeds) and keeps reconnecting forever once connected. */
export async function connectBus(options: BusOptions): Promise<Bus> {
  assertPrefix(options.prefix);
  const log = options.log ?? silentLog;
  const nc = await connectUntilSuccess(options, log);
  let connected = true;
  void (async () => {
    for await (const status of nc.status()) {
      switch (status.type) {
        case 'disconnect':
          connected = false;
          log.warn({ server: status.server }, 'nats disconnected');
          break;
        case 'reconnect':
          connected = true;
          log.info({ server: status.server }, 'nats reconnected');
          break;
        case 'error':
          log.error({ err: status.error.message }, 'nats error');
          break;
        case 'slowConsumer':
          log.warn({ subject: status.sub.getSubject(), pending: status.pending }, 'nats slow consumer');
          break;
        case 'ldm':
          log.warn({ server: status.server }, 'nats server entering lame duck mode');
          break;
      }
    }
  })();
  void nc.closed().then((err) => {
    connected = false;
    if (err) log.error({ err: err.message }, 'nats connection closed with an error');
  });
  let jsm: JetStreamManager;
  try {
    jsm = await jetstreamManager(nc);
  } catch (err) {
    await nc.close();
    throw new Error(`JetStream is not available on ${options.servers}: ${(err as Error).message}`, { cause: err });
  }
  log.info({ server: nc.getServer(), prefix: options.prefix }, 'nats connected');
  return {
    nc,
    js: jetstream(nc),
    jsm,
    prefix: options.prefix,
    subjects: createSubjects(options.prefix),
    streams: createStreamNames(options.prefix),
    log,
    isConnected: () => connected && !nc.isClosed() && !nc.isDraining(),
    drain: async () => {
      if (!nc.isClosed() && !nc.isDraining()) await nc.drain();
    },
  };
}
