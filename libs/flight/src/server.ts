import {
  Metadata,
  Server,
  ServerCredentials,
  status,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { descriptorFromWire, flightInfoToWire } from './convert.js';
import { FlightError } from './errors.js';
import { decodeFlightData, FlightDataEncoder, schemaToIpc } from './ipc.js';
import { DirectFlightDataWriter } from './direct-response.js';
import { flightService, type OutgoingFlightData, type WireDescriptor, type WireFlightData } from './proto.js';
import { DEFAULT_MAX_MESSAGE_BYTES, targetMessageBytes, writeMessage } from './stream.js';
import type { CallContext, FlightHandlers, HandshakeReply } from './types.js';

export interface FlightServerOptions {
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Host put in `location` when it differs from the bind address (e.g. binding 0.0.0.0 in a container). */
  advertiseHost?: string;
  /** 0 picks a free port. */
  port: number;
  /** Largest gRPC message accepted or sent; default 64 MiB. */
  maxMessageBytes?: number;
  /** Called with every unexpected handler error (anything but a FlightError), for metrics and logs. */
  onError?(rpc: string, err: unknown): void;
  /**
   * Checks the request metadata of every call except Handshake before its handler runs; throw a
   * FlightError (FlightError.unauthenticated) to refuse the call. See bearerTokenAuth.
   */
  authenticate?(headers: Record<string, string>): void | Promise<void>;
  /**
   * Answers each HandshakeRequest with one HandshakeResponse; the first reply's headers are sent
   * as response metadata. Without it Handshake answers UNIMPLEMENTED.
   */
  handshake?(payload: Buffer, headers: Record<string, string>): HandshakeReply | Promise<HandshakeReply>;
}

/** What every kind of server call offers: metadata, peer, and the 'cancelled' event. */
interface AnyCall {
  metadata: Metadata;
  getPeer(): string;
  on(event: 'cancelled', listener: () => void): unknown;
  off(event: 'cancelled', listener: () => void): unknown;
}
type StreamCall = ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>;

function metadataHeaders(call: AnyCall): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(call.metadata.getMap())) {
    if (typeof value === 'string') headers[key] = value;
  }
  return headers;
}

/** An Arrow Flight gRPC server (arrow.flight.protocol.FlightService) dispatching to the given handlers. */
export class FlightServer {
  private readonly server: Server;
  private readonly host: string;
  private readonly maxMessageBytes: number;
  private readonly active = new Set<AbortController>();
  private port: number | undefined;
  private running = false;

  constructor(
    private readonly handlers: FlightHandlers,
    private readonly options: FlightServerOptions,
  ) {
    this.host = options.host ?? '127.0.0.1';
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.server = new Server({
      'grpc.max_receive_message_length': this.maxMessageBytes,
      'grpc.max_send_message_length': this.maxMessageBytes,
    });
    this.server.addService(flightService, this.implementation());
  }

  /** Binds and starts serving; resolves with the bound port. */
  start(): Promise<number> {
    const address = this.host.includes(':') ? `[${this.host}]:${this.options.port}` : `${this.host}:${this.options.port}`;
    return new Promise((resolve, reject) => {
      this.server.bindAsync(address, ServerCredentials.createInsecure(), (err, port) => {
        if (err) return reject(new Error(`Flight server cannot listen on ${address}: ${err.message}`));
        this.port = port;
        this.running = true;
        resolve(port);
      });
    });
  }

  /** grpc://host:port, known once started. */
  get location(): string {
    if (this.port === undefined) throw new Error('FlightServer.location is only known after start()');
    const advertised = this.options.advertiseHost ?? this.host;
    const host = advertised.includes(':') ? `[${advertised}]` : advertised;
    return `grpc://${host}:${this.port}`;
  }

  get serving(): boolean {
    return this.running;
  }

  /** Stops accepting calls, lets running ones finish for up to graceMs, then cancels them. */
  stop(graceMs = 5000): Promise<void> {
    this.running = false;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        for (const controller of this.active) controller.abort();
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private context(call: AnyCall): { ctx: CallContext; release: () => void } {
    const controller = new AbortController();
    this.active.add(controller);
    const abort = (): void => controller.abort();
    call.on('cancelled', abort);
    const ctx: CallContext = { headers: metadataHeaders(call), peer: call.getPeer(), signal: controller.signal };
    return {
      ctx,
      release: () => {
        call.off('cancelled', abort);
        this.active.delete(controller);
      },
    };
  }

  /** The status for a handler failure; null when the client is gone and nobody would read it. */
  private statusFor(rpc: string, err: unknown, ctx: CallContext): { code: status; details: string } | null {
    if (ctx.signal.aborted) return null;
    if (err instanceof FlightError) return { code: err.grpcCode, details: err.message };
    try {
      this.options.onError?.(rpc, err);
    } catch {
      // a failing error hook must not take the call down with it
    }
    return { code: status.INTERNAL, details: err instanceof Error ? err.message : String(err) };
  }

  private async authorized(rpc: string, ctx: CallContext): Promise<void> {
    if (rpc !== 'Handshake') await this.options.authenticate?.(ctx.headers);
  }

  private unary<Req, Res>(rpc: string, run: (request: Req, ctx: CallContext) => Promise<Res>) {
    return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
      const { ctx, release } = this.context(call);
      this.authorized(rpc, ctx)
        .then(() => run(call.request, ctx))
        .then(
          (response) => callback(null, response),
          (err: unknown) => {
            const failure = this.statusFor(rpc, err, ctx);
            callback(failure ?? { code: status.CANCELLED, details: 'cancelled' });
          },
        )
        .catch((err: unknown) => this.statusFor(rpc, err, ctx))
        .finally(release);
    };
  }

  private streaming<C extends StreamCall>(rpc: string, run: (call: C, ctx: CallContext) => Promise<void>) {
    return (call: C): void => {
      const { ctx, release } = this.context(call);
      this.authorized(rpc, ctx)
        .then(() => run(call, ctx))
        .then(
          () => {
            if (!ctx.signal.aborted) call.end();
          },
          (err: unknown) => {
            const failure = this.statusFor(rpc, err, ctx);
            if (failure) call.emit('error', failure);
          },
        )
        // answering can itself fail (stream already torn down); report it, never let it escape
        .catch((err: unknown) => this.statusFor(rpc, err, ctx))
        .finally(release);
    };
  }

  private missing(rpc: string): FlightError {
    return FlightError.unimplemented(`${rpc} is not implemented by this Flight service`);
  }

  private implementation(): UntypedServiceImplementation {
    const h = this.handlers;
    const limits = { targetMessageBytes: targetMessageBytes(this.maxMessageBytes), maxMessageBytes: this.maxMessageBytes };
    const unimplementedStream = (rpc: string) =>
      this.streaming<StreamCall>(rpc, async () => {
        throw this.missing(rpc);
      });

    return {
      Handshake: this.streaming<ServerDuplexStream<{ protocolVersion: string; payload: Buffer }, unknown>>('Handshake', async (call, ctx) => {
        const answer = this.options.handshake;
        if (!answer) throw this.missing('Handshake');
        let first = true;
        // the default iterator destroys the call when the client's side ends, before the status is sent
        const requests = call.iterator({ destroyOnReturn: false }) as AsyncIterable<{ protocolVersion: string; payload: Buffer }>;
        for await (const request of requests) {
          const reply = await answer(request.payload, ctx.headers);
          if (first && reply.headers) {
            const metadata = new Metadata();
            for (const [key, value] of Object.entries(reply.headers)) metadata.set(key, value);
            call.sendMetadata(metadata);
          }
          first = false;
          await writeMessage(call, { protocolVersion: request.protocolVersion, payload: reply.payload }, ctx.signal);
        }
      }),
      DoExchange: unimplementedStream('DoExchange'),
      PollFlightInfo: this.unary('PollFlightInfo', async () => {
        throw this.missing('PollFlightInfo');
      }),

      ListFlights: this.streaming<ServerWritableStream<{ expression: Buffer }, unknown>>('ListFlights', async (call, ctx) => {
        if (!h.listFlights) throw this.missing('ListFlights');
        for await (const info of h.listFlights(call.request.expression, ctx)) {
          if (ctx.signal.aborted) return;
          await writeMessage(call, flightInfoToWire(info), ctx.signal);
        }
      }),

      GetFlightInfo: this.unary<WireDescriptor, unknown>('GetFlightInfo', async (request, ctx) => {
        if (!h.getFlightInfo) throw this.missing('GetFlightInfo');
        return flightInfoToWire(await h.getFlightInfo(descriptorFromWire(request), ctx));
      }),

      GetSchema: this.unary<WireDescriptor, unknown>('GetSchema', async (request, ctx) => {
        if (!h.getSchema) throw this.missing('GetSchema');
        return { schema: schemaToIpc(await h.getSchema(descriptorFromWire(request), ctx)) };
      }),

      DoGet: this.streaming<ServerWritableStream<{ ticket: Buffer }, unknown>>('DoGet', async (call, ctx) => {
        if (!h.doGet) throw this.missing('DoGet');
        const { schema, batches, onDone } = await h.doGet(call.request.ticket, ctx);
        const direct = DirectFlightDataWriter.open(call);
        try {
          const encoder = new FlightDataEncoder(schema, limits);
          const send = (message: OutgoingFlightData) => (direct ? direct.write(message, ctx.signal) : writeMessage(call, message, ctx.signal));
          await send(encoder.start());
          for await (const batch of batches) {
            for (const message of encoder.encode(batch)) {
              if (ctx.signal.aborted || (direct && !direct.writable)) return;
              await send(message);
            }
          }
        } finally {
          // grpc-js's own path copies each message into its frame as it is written.
          if (onDone) void Promise.resolve(direct?.settled()).then(onDone);
        }
      }),

      DoPut: this.streaming<ServerDuplexStream<WireFlightData, unknown>>('DoPut', async (call, ctx) => {
        if (!h.doPut) throw this.missing('DoPut');
        // Arrow's reader returns its source when done; that must not destroy the call before the PutResult is sent.
        const incoming = call.iterator({ destroyOnReturn: false }) as AsyncIterator<WireFlightData>;
        const first = await incoming.next();
        if (first.done) throw FlightError.invalidArgument('DoPut stream carried no FlightData');
        const descriptor = descriptorFromWire(first.value.flightDescriptor);
        async function* messages(): AsyncGenerator<WireFlightData> {
          yield first.value as WireFlightData;
          yield* { [Symbol.asyncIterator]: () => incoming };
        }
        const { batches } = await decodeFlightData(messages());
        const appMetadata = await h.doPut(descriptor, batches, ctx);
        if (appMetadata) await writeMessage(call, { appMetadata }, ctx.signal);
      }),

      DoAction: this.streaming<ServerWritableStream<{ type: string; body: Buffer }, unknown>>('DoAction', async (call, ctx) => {
        if (!h.doAction) throw this.missing('DoAction');
        const results = h.doAction(call.request.type, call.request.body, ctx);
        for await (const body of results instanceof Promise ? await results : results) {
          if (ctx.signal.aborted) return;
          await writeMessage(call, { body }, ctx.signal);
        }
      }),

      ListActions: this.streaming<ServerWritableStream<unknown, unknown>>('ListActions', async (call, ctx) => {
        if (!h.listActions) throw this.missing('ListActions');
        for (const action of h.listActions()) await writeMessage(call, action, ctx.signal);
      }),
    };
  }
}
