import { Client, credentials, Metadata, type ChannelOptions, type ClientReadableStream } from '@grpc/grpc-js';
import { Table, type RecordBatch, type Schema } from 'apache-arrow';
import { descriptorToWire, flightInfoFromWire } from './convert.js';
import { FlightError } from './errors.js';
import { Http2DoGet, type MessageAllocator } from './http2-doget.js';
import { decodeFlightData, FlightDataEncoder, schemaFromIpc } from './ipc.js';
import { encodeDescriptor, flightService, SERVICE_NAME, type RpcName, type WireFlightInfo } from './proto.js';
import { DEFAULT_MAX_MESSAGE_BYTES, MiB, targetMessageBytes, writeMessage } from './stream.js';
import type { ActionType, FlightDescriptor, FlightInfo } from './types.js';

export interface FlightClientOptions {
  /** Sent as gRPC metadata with every call. */
  headers?: Record<string, string>;
  /** Sent as `authorization: Bearer <token>` with every call. */
  token?: string;
  /** Largest gRPC message accepted or sent; default 64 MiB. */
  maxMessageBytes?: number;
}

/** HTTP/2 receive window: lets the server stream several messages ahead instead of waiting on window updates. */
const FLOW_CONTROL_WINDOW = 32 * MiB;

function parseLocation(location: string): { target: string; secure: boolean } {
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    throw new Error(`Flight location must be a URI like grpc://host:port, got "${location}"`);
  }
  const secure = url.protocol === 'grpc+tls:';
  if (!secure && url.protocol !== 'grpc:' && url.protocol !== 'grpc+tcp:') {
    throw new Error(`Flight location scheme must be grpc, grpc+tcp or grpc+tls, got "${location}"`);
  }
  if (!url.hostname || !url.port) throw new Error(`Flight location must name a host and port, got "${location}"`);
  return { target: `${url.hostname}:${url.port}`, secure };
}

function asBuffer(value: Buffer | string): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

/** An Arrow Flight client; gRPC failures surface as {@link FlightError} with the server's status and message. */
export class FlightClient {
  private readonly client: Client;
  private readonly doGetTransport: Http2DoGet;
  private readonly headers: Record<string, string>;
  private readonly maxMessageBytes: number;

  constructor(location: string, options: FlightClientOptions = {}) {
    const { target, secure } = parseLocation(location);
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.headers = { ...options.headers, ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }) };
    const channelOptions: ChannelOptions = {
      'grpc.max_receive_message_length': this.maxMessageBytes,
      'grpc.max_send_message_length': this.maxMessageBytes,
      'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW,
    };
    this.client = new Client(target, secure ? credentials.createSsl() : credentials.createInsecure(), channelOptions);
    this.doGetTransport = new Http2DoGet(`${secure ? 'https' : 'http'}://${target}`, this.headers, this.maxMessageBytes);
  }

  /**
   * Fetches a stream; batches are decoded as they arrive. With `allocate`, every message that
   * does not arrive whole in one HTTP/2 chunk (every sizable one) is received into memory it
   * returns, which the batches then point into.
   */
  async doGet(
    ticket: Buffer | string,
    opts: { signal?: AbortSignal; allocate?: MessageAllocator } = {},
  ): Promise<{ schema: Schema; batches: AsyncIterable<RecordBatch> }> {
    const { messages, cancel } = this.doGetTransport.call(asBuffer(ticket), opts.signal, opts.allocate);
    return decodeFlightData(messages, cancel);
  }

  async doGetTable(ticket: Buffer | string): Promise<Table> {
    const { schema, batches } = await this.doGet(ticket);
    const all: RecordBatch[] = [];
    for await (const batch of batches) all.push(batch);
    return new Table(schema, all);
  }

  async listFlights(criteria: Buffer = Buffer.alloc(0)): Promise<FlightInfo[]> {
    const infos: FlightInfo[] = [];
    for await (const info of this.serverStream<WireFlightInfo>('ListFlights', { expression: criteria })) {
      infos.push(flightInfoFromWire(info));
    }
    return infos;
  }

  async getFlightInfo(descriptor: FlightDescriptor): Promise<FlightInfo> {
    return flightInfoFromWire(await this.unary<WireFlightInfo>('GetFlightInfo', descriptorToWire(descriptor)));
  }

  async getSchema(descriptor: FlightDescriptor): Promise<Schema> {
    const result = await this.unary<{ schema: Buffer }>('GetSchema', descriptorToWire(descriptor));
    return schemaFromIpc(result.schema);
  }

  /** Uploads a stream; resolves with the app_metadata of every PutResult the server sent. */
  async doPut(
    descriptor: FlightDescriptor,
    schema: Schema,
    batches: AsyncIterable<RecordBatch> | Iterable<RecordBatch>,
  ): Promise<Buffer[]> {
    const method = flightService.DoPut;
    const call = this.client.makeBidiStreamRequest(path('DoPut'), method.requestSerialize, method.responseDeserialize, this.metadata());
    const results: Buffer[] = [];
    let failure: unknown;
    const responses = (async () => {
      for await (const result of call as AsyncIterable<{ appMetadata: Buffer }>) results.push(result.appMetadata);
    })().catch((err: unknown) => {
      failure = err;
    });
    try {
      const encoder = new FlightDataEncoder(schema, {
        targetMessageBytes: targetMessageBytes(this.maxMessageBytes),
        maxMessageBytes: this.maxMessageBytes,
      });
      await writeMessage(call, { ...encoder.start(), descriptor: encodeDescriptor(descriptorToWire(descriptor)) });
      outer: for await (const batch of batches) {
        for (const message of encoder.encode(batch)) {
          if (failure) break outer;
          await writeMessage(call, message);
        }
      }
      call.end();
    } catch (err) {
      call.cancel();
      throw err;
    }
    await responses;
    if (failure) throw FlightError.fromGrpc(failure);
    return results;
  }

  async doAction(type: string, body: Buffer = Buffer.alloc(0)): Promise<Buffer[]> {
    const results: Buffer[] = [];
    for await (const result of this.serverStream<{ body: Buffer }>('DoAction', { type, body })) results.push(result.body);
    return results;
  }

  /**
   * One Handshake round: sends the payload, resolves with the server's payload and response
   * headers (a token-authenticated server answers `authorization: Bearer <token>`).
   */
  async handshake(payload: Buffer | string = Buffer.alloc(0)): Promise<{ payload: Buffer; headers: Record<string, string> }> {
    const method = flightService.Handshake;
    const call = this.client.makeBidiStreamRequest(path('Handshake'), method.requestSerialize, method.responseDeserialize, this.metadata());
    const headers: Record<string, string> = {};
    call.on('metadata', (metadata: Metadata) => {
      for (const [key, value] of Object.entries(metadata.getMap())) if (typeof value === 'string') headers[key] = value;
    });
    call.write({ protocolVersion: 0, payload: asBuffer(payload) });
    call.end();
    const replies: Buffer[] = [];
    try {
      for await (const reply of call as AsyncIterable<{ payload: Buffer }>) replies.push(reply.payload);
    } catch (err) {
      throw FlightError.fromGrpc(err);
    }
    return { payload: replies[0] ?? Buffer.alloc(0), headers };
  }

  async listActions(): Promise<ActionType[]> {
    const actions: ActionType[] = [];
    for await (const action of this.serverStream<ActionType>('ListActions', {})) {
      actions.push({ type: action.type, description: action.description });
    }
    return actions;
  }

  close(): void {
    this.client.close();
    this.doGetTransport.close();
  }

  private metadata(): Metadata {
    const metadata = new Metadata();
    for (const [key, value] of Object.entries(this.headers)) metadata.set(key, value);
    return metadata;
  }

  private unary<Res>(rpc: RpcName, request: unknown): Promise<Res> {
    const method = flightService[rpc];
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(path(rpc), method.requestSerialize, method.responseDeserialize, request, this.metadata(), (err, value) =>
        err ? reject(FlightError.fromGrpc(err)) : resolve(value as Res),
      );
    });
  }

  /** A server stream as an async iterable; stopping early or aborting the signal cancels the call. */
  private serverStream<Res>(rpc: RpcName, request: unknown, signal?: AbortSignal): AsyncGenerator<Res> {
    return this.openServerStream<Res>(rpc, request, signal).messages;
  }

  private openServerStream<Res>(rpc: RpcName, request: unknown, signal?: AbortSignal): { messages: AsyncGenerator<Res>; cancel: () => void } {
    const method = flightService[rpc];
    const call: ClientReadableStream<Res> = this.client.makeServerStreamRequest(
      path(rpc),
      method.requestSerialize,
      method.responseDeserialize as (bytes: Buffer) => Res,
      request,
      this.metadata(),
    );
    const cancel = (): void => call.cancel();
    async function* messages(): AsyncGenerator<Res> {
      if (signal?.aborted) cancel();
      signal?.addEventListener('abort', cancel);
      let finished = false;
      try {
        for await (const message of call) yield message as Res;
        finished = true;
      } catch (err) {
        if (signal?.aborted) throw FlightError.cancelled(`${rpc} was cancelled by the caller`);
        throw FlightError.fromGrpc(err);
      } finally {
        signal?.removeEventListener('abort', cancel);
        if (!finished) cancel();
      }
    }
    return { messages: messages(), cancel };
  }
}

function path(rpc: RpcName): string {
  return `/${SERVICE_NAME}/${rpc}`;
}
