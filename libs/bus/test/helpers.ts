import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { afterEach } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { testNatsUrl, uniquePrefix } from '@chainlake/testkit';
import { connectBus, deleteStreams, ensureStreams, type Bus, type BusLog } from '../src/index.js';

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  o: object;
  m?: string;
}

/** A BusLog that remembers what was logged. */
export function recordingLog(): BusLog & { lines: LogLine[]; messages(): string[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    messages: () => lines.map((l) => l.m ?? ''),
    info: (o, m) => void lines.push({ level: 'info', o, m }),
    warn: (o, m) => void lines.push({ level: 'warn', o, m }),
    error: (o, m) => void lines.push({ level: 'error', o, m }),
  };
}

/** A bus on a fresh prefix with its streams created, and a cleanup that deletes them and closes it. */
export async function testBus(label: string): Promise<{ bus: Bus; close: () => Promise<void> }> {
  const bus = await connectBus({ servers: testNatsUrl(), prefix: uniquePrefix(label), name: `test-${label}` });
  await ensureStreams(bus, { maxAgeMs: 3_600_000 });
  return {
    bus,
    close: async () => {
      await deleteStreams(bus);
      await bus.drain();
    },
  };
}

/**
 * For a test file: `open` gives a bus on a fresh prefix; it, and whatever else is pushed on
 * `cleanups`, is closed after each test, last first.
 */
export function busesClosedAfterEach(): { open(label: string): Promise<Bus>; cleanups: (() => Promise<void>)[] } {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return {
    cleanups,
    async open(label) {
      const { bus, close } = await testBus(label);
      cleanups.push(close);
      return bus;
    },
  };
}

/** Another connection on the same prefix, like a second replica. */
export function replicaOf(bus: Bus, options: { name?: string; log?: BusLog } = {}): Promise<Bus> {
  return connectBus({ servers: testNatsUrl(), prefix: bus.prefix, name: options.name ?? 'replica', log: options.log });
}

export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** A TCP proxy in front of the test NATS server that can be taken down and brought back on the same port. */
export class NatsProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  constructor(readonly port: number) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    const target = new URL(testNatsUrl());
    this.server = createServer((client) => {
      const upstream = tcpConnect(Number(target.port), target.hostname);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  async down(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }
}
