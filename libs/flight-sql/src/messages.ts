import protobuf from 'protobufjs';

/**
 * The Flight SQL protocol messages we speak, with the field numbers of Arrow's FlightSql.proto
 * (package arrow.flight.protocol.sql). One table drives both the protobuf codec and the
 * TypeScript types, so they cannot drift apart.
 */
type Kind = 'string' | 'bytes' | 'bool' | 'uint32' | 'int32';
interface FieldSpec {
  readonly id: number;
  readonly kind: Kind;
  readonly repeated?: true;
  /** proto3 `optional`: presence is kept (absent decodes as undefined, not as the default). */
  readonly optional?: true;
}

const MESSAGES = {
  CommandStatementQuery: { query: { id: 1, kind: 'string' }, transactionId: { id: 2, kind: 'bytes', optional: true } },
  TicketStatementQuery: { statementHandle: { id: 1, kind: 'bytes' } },
  CommandPreparedStatementQuery: { preparedStatementHandle: { id: 1, kind: 'bytes' } },
  CommandStatementUpdate: { query: { id: 1, kind: 'string' }, transactionId: { id: 2, kind: 'bytes', optional: true } },
  CommandPreparedStatementUpdate: { preparedStatementHandle: { id: 1, kind: 'bytes' } },
  CommandGetCatalogs: {},
  CommandGetDbSchemas: {
    catalog: { id: 1, kind: 'string', optional: true },
    dbSchemaFilterPattern: { id: 2, kind: 'string', optional: true },
  },
  CommandGetTables: {
    catalog: { id: 1, kind: 'string', optional: true },
    dbSchemaFilterPattern: { id: 2, kind: 'string', optional: true },
    tableNameFilterPattern: { id: 3, kind: 'string', optional: true },
    tableTypes: { id: 4, kind: 'string', repeated: true },
    includeSchema: { id: 5, kind: 'bool' },
  },
  CommandGetTableTypes: {},
  CommandGetSqlInfo: { info: { id: 1, kind: 'uint32', repeated: true } },
  CommandGetPrimaryKeys: {
    catalog: { id: 1, kind: 'string', optional: true },
    dbSchema: { id: 2, kind: 'string', optional: true },
    table: { id: 3, kind: 'string' },
  },
  CommandGetExportedKeys: {
    catalog: { id: 1, kind: 'string', optional: true },
    dbSchema: { id: 2, kind: 'string', optional: true },
    table: { id: 3, kind: 'string' },
  },
  CommandGetImportedKeys: {
    catalog: { id: 1, kind: 'string', optional: true },
    dbSchema: { id: 2, kind: 'string', optional: true },
    table: { id: 3, kind: 'string' },
  },
  ActionCreatePreparedStatementRequest: { query: { id: 1, kind: 'string' }, transactionId: { id: 2, kind: 'bytes', optional: true } },
  ActionCreatePreparedStatementResult: {
    preparedStatementHandle: { id: 1, kind: 'bytes' },
    datasetSchema: { id: 2, kind: 'bytes' },
    parameterSchema: { id: 3, kind: 'bytes' },
    isUpdate: { id: 4, kind: 'bool', optional: true },
  },
  ActionClosePreparedStatementRequest: { preparedStatementHandle: { id: 1, kind: 'bytes' } },
  DoPutPreparedStatementResult: { preparedStatementHandle: { id: 1, kind: 'bytes', optional: true } },
} as const satisfies Record<string, Record<string, FieldSpec>>;

/** Flight SQL messages we know of but do not serve (transactions, Substrait, ingestion, cross references, XDBC type info, cancellation). */
const UNSUPPORTED = new Set([
  'CommandStatementSubstraitPlan',
  'CommandStatementIngest',
  'CommandGetCrossReference',
  'CommandGetXdbcTypeInfo',
  'ActionCreatePreparedSubstraitPlanRequest',
  'ActionBeginTransactionRequest',
  'ActionBeginSavepointRequest',
  'ActionEndTransactionRequest',
  'ActionEndSavepointRequest',
  'ActionCancelQueryRequest',
]);

type Scalar<K extends Kind> = K extends 'string' ? string : K extends 'bytes' ? Buffer : K extends 'bool' ? boolean : number;
type ValueOf<F> = F extends FieldSpec ? (F extends { repeated: true } ? Array<Scalar<F['kind']>> : Scalar<F['kind']>) : never;
type Spec<N extends MessageName> = (typeof MESSAGES)[N];
type Expand<T> = { [K in keyof T]: T[K] };

export type MessageName = keyof typeof MESSAGES;

/** A decoded message: every field present, proto3 `optional` fields undefined when absent. */
export type FlightSqlMessage<N extends MessageName> = Expand<
  { -readonly [K in keyof Spec<N> as Spec<N>[K] extends { optional: true } ? never : K]: ValueOf<Spec<N>[K]> } & {
    -readonly [K in keyof Spec<N> as Spec<N>[K] extends { optional: true } ? K : never]?: ValueOf<Spec<N>[K]>;
  }
>;

/** A message to encode: absent fields are not written (they decode as their defaults). */
export type FlightSqlMessageInput<N extends MessageName> = Partial<FlightSqlMessage<N>>;

/** Any command, ticket or action body, tagged with its message name. */
export type FlightSqlCommand = { [N in MessageName]: { name: N; message: FlightSqlMessage<N> } }[MessageName];

export const TYPE_URL_PREFIX = 'type.googleapis.com/arrow.flight.protocol.sql.';

/** A Flight SQL payload that is ours (its type URL says so) but malformed or not served. */
export class FlightSqlProtocolError extends Error {
  override readonly name = 'FlightSqlProtocolError';
  constructor(
    message: string,
    /** True when the message is valid Flight SQL this server does not implement. */
    readonly unsupported = false,
  ) {
    super(message);
  }
}

function protobufFields(spec: Record<string, FieldSpec>): Record<string, protobuf.IField & { rule?: string }> {
  const fields: Record<string, protobuf.IField & { rule?: string }> = {};
  for (const [name, field] of Object.entries(spec)) {
    fields[name] = field.repeated
      ? { id: field.id, type: field.kind, rule: 'repeated', ...(field.kind === 'uint32' ? { options: { packed: true } } : {}) }
      : { id: field.id, type: field.kind };
  }
  return fields;
}

const root = protobuf.Root.fromJSON({
  nested: {
    google: { nested: { protobuf: { nested: { Any: { fields: { typeUrl: { id: 1, type: 'string' }, value: { id: 2, type: 'bytes' } } } } } } },
    flightsql: {
      nested: Object.fromEntries(Object.entries(MESSAGES).map(([name, spec]) => [name, { fields: protobufFields(spec) }])),
    },
  },
});
const anyType = root.lookupType('google.protobuf.Any');
const types = new Map<MessageName, protobuf.Type>(
  (Object.keys(MESSAGES) as MessageName[]).map((name) => [name, root.lookupType(`flightsql.${name}`)]),
);

function defaultOf(field: FieldSpec): unknown {
  if (field.repeated) return [];
  switch (field.kind) {
    case 'string':
      return '';
    case 'bytes':
      return Buffer.alloc(0);
    case 'bool':
      return false;
    default:
      return 0;
  }
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function encodeMessage<N extends MessageName>(name: N, message: FlightSqlMessageInput<N>): Buffer {
  const type = types.get(name)!;
  return toBuffer(type.encode(type.fromObject(message as Record<string, unknown>)).finish());
}

export function decodeMessage<N extends MessageName>(name: N, bytes: Uint8Array): FlightSqlMessage<N> {
  const type = types.get(name)!;
  let decoded: Record<string, unknown>;
  try {
    decoded = type.toObject(type.decode(bytes), { defaults: false, arrays: true });
  } catch (err) {
    throw new FlightSqlProtocolError(`malformed ${name}: ${(err as Error).message}`);
  }
  const message: Record<string, unknown> = {};
  for (const [field, spec] of Object.entries(MESSAGES[name] as Record<string, FieldSpec>)) {
    const value = decoded[field];
    if (value === undefined) {
      if (!spec.optional) message[field] = defaultOf(spec);
    } else {
      message[field] = spec.kind === 'bytes' ? toBuffer(value as Uint8Array) : value;
    }
  }
  return message as FlightSqlMessage<N>;
}

/** The message wrapped in google.protobuf.Any, as descriptors, tickets and action bodies carry it. */
export function packAny<N extends MessageName>(name: N, message: FlightSqlMessageInput<N>): Buffer {
  return toBuffer(anyType.encode({ typeUrl: TYPE_URL_PREFIX + name, value: encodeMessage(name, message) }).finish());
}

/** The Flight SQL message name an Any-wrapped payload carries, or undefined when it is not Flight SQL. */
export function anyMessageName(bytes: Uint8Array): string | undefined {
  // an Any starts with its type_url (field 1, length-delimited); anything else (a JSON ticket) is not ours
  if (bytes.byteLength < 2 || bytes[0] !== 0x0a) return undefined;
  try {
    const { typeUrl } = anyType.decode(bytes) as unknown as { typeUrl: string };
    return typeUrl.startsWith(TYPE_URL_PREFIX) ? typeUrl.slice(TYPE_URL_PREFIX.length) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Unwraps an Any-wrapped Flight SQL message. Undefined when the payload is not Flight SQL at
 * all (so another handler may own it); FlightSqlProtocolError when it is, but malformed or not served.
 */
export function unpackAny(bytes: Uint8Array): FlightSqlCommand | undefined {
  const name = anyMessageName(bytes);
  if (name === undefined) return undefined;
  if (!(name in MESSAGES)) {
    throw new FlightSqlProtocolError(
      UNSUPPORTED.has(name) ? `Flight SQL ${name} is not supported by this read-only server` : `unknown Flight SQL message ${name}`,
      true,
    );
  }
  const { value } = anyType.decode(bytes) as unknown as { value: Uint8Array };
  const messageName = name as MessageName;
  return { name: messageName, message: decodeMessage(messageName, value) } as FlightSqlCommand;
}
