import type { RecordBatch, Schema } from 'apache-arrow';

/** Names a dataset: a path, or an opaque command that produces one. */
export interface FlightDescriptor {
  type: 'PATH' | 'CMD';
  path?: string[];
  cmd?: Buffer;
}

/** One stream of a flight: its ticket and the URIs where the ticket can be redeemed. */
export interface FlightEndpoint {
  ticket: Buffer;
  locations: string[];
}

export interface FlightInfo {
  schema: Schema;
  descriptor: FlightDescriptor;
  endpoints: FlightEndpoint[];
  /** -1 when unknown */
  totalRecords: number;
  /** -1 when unknown */
  totalBytes: number;
  ordered?: boolean;
  appMetadata?: Buffer;
}

export interface DoGetResult {
  schema: Schema;
  batches: AsyncIterable<RecordBatch> | Iterable<RecordBatch>;
  /**
   * Called once when the call is over, however it ended, and no write still points into the
   * batches' memory (HTTP/2 writes keep views of it until the socket has taken the bytes).
   */
  onDone?: () => void;
}

export interface CallContext {
  /** Request metadata (text values only), keys lower-case. */
  headers: Record<string, string>;
  peer: string;
  /** Aborted when the client cancels the call or the server shuts down. */
  signal: AbortSignal;
}

/** What the server answers to one HandshakeRequest; `headers` go out as response metadata. */
export interface HandshakeReply {
  payload: Buffer;
  headers?: Record<string, string>;
}

export interface ActionType {
  type: string;
  description: string;
}

export interface FlightHandlers {
  listFlights?(criteria: Buffer, ctx: CallContext): AsyncIterable<FlightInfo> | Iterable<FlightInfo>;
  getFlightInfo?(descriptor: FlightDescriptor, ctx: CallContext): Promise<FlightInfo>;
  getSchema?(descriptor: FlightDescriptor, ctx: CallContext): Promise<Schema>;
  doGet?(ticket: Buffer, ctx: CallContext): Promise<DoGetResult>;
  /** The returned buffer is sent to the client as PutResult.app_metadata. */
  doPut?(descriptor: FlightDescriptor, batches: AsyncIterable<RecordBatch>, ctx: CallContext): Promise<Buffer | void>;
  doAction?(type: string, body: Buffer, ctx: CallContext): AsyncIterable<Buffer> | Promise<Buffer[]>;
  listActions?(): ActionType[];
}
