import avro from 'avsc';

/**
 * Avro object container files (the format of Iceberg manifests and manifest lists) through avsc, and
 * the Iceberg ↔ Avro type mapping of the table spec (Appendix A).
 */

export type AvroCodec = 'deflate' | 'null';

export interface AvroFile {
  /** Key-value metadata of the header, avro.* keys included, as UTF-8 text. */
  metadata: Record<string, string>;
  /** The writer's schema as the header stores it (with Iceberg's field-id attributes). */
  schema: AvroRecordSchema;
  records: Record<string, unknown>[];
}

export interface AvroField {
  name: string;
  type: unknown;
  default?: unknown;
  doc?: string;
  'field-id'?: number;
}

export interface AvroRecordSchema {
  type: 'record';
  name: string;
  fields: AvroField[];
}

/**
 * Encodes records as one Avro container file. The schema object goes to the header as given, so
 * its `field-id`, `element-id` and `logicalType` attributes survive; `metadata` adds header keys.
 */
export async function encodeAvroFile(
  schema: AvroRecordSchema,
  records: Iterable<unknown>,
  metadata: Record<string, string>,
  codec: AvroCodec = 'deflate',
): Promise<Uint8Array> {
  const encoder = new avro.streams.BlockEncoder(schema as avro.Schema, {
    codec,
    writeHeader: 'always',
    metadata: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, Buffer.from(v, 'utf8')])),
  } as Partial<avro.EncoderOptions>);
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    encoder.on('data', (chunk: Buffer) => chunks.push(chunk));
    encoder.on('end', resolve);
    encoder.on('error', reject);
  });
  for (const record of records) encoder.write(record);
  encoder.end();
  await done;
  return Buffer.concat(chunks);
}

/** Decodes a whole Avro container file (codecs null and deflate). */
export async function decodeAvroFile(bytes: Uint8Array, what: string): Promise<AvroFile> {
  const decoder = new avro.streams.BlockDecoder();
  const records: Record<string, unknown>[] = [];
  let metadata: Record<string, string> = {};
  const done = new Promise<void>((resolve, reject) => {
    decoder.on('metadata', (_type: unknown, _codec: string, header: { meta: Record<string, Buffer> }) => {
      metadata = Object.fromEntries(Object.entries(header.meta).map(([k, v]) => [k, v.toString('utf8')]));
    });
    decoder.on('data', (record: Record<string, unknown>) => records.push(record));
    decoder.on('end', resolve);
    decoder.on('error', reject);
  });
  decoder.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  try {
    await done;
  } catch (error) {
    throw new Error(`cannot read ${what} as an Avro file: ${(error as Error).message}`);
  }
  const schemaText = metadata['avro.schema'];
  if (schemaText === undefined) throw new Error(`cannot read ${what}: no avro.schema in its header`);
  return { metadata, schema: JSON.parse(schemaText) as AvroRecordSchema, records };
}

/** The Avro type of an Iceberg primitive type (spec Appendix A), for values as avsc reads and writes them. */
export function avroTypeOf(icebergType: string): unknown {
  switch (icebergType) {
    case 'boolean':
    case 'int':
    case 'long':
    case 'float':
    case 'double':
    case 'string':
      return icebergType;
    case 'binary':
      return 'bytes';
    case 'date':
      return { type: 'int', logicalType: 'date' };
    case 'time':
      return { type: 'long', logicalType: 'time-micros' };
    case 'timestamp':
    case 'timestamptz':
      return { type: 'long', logicalType: 'timestamp-micros', 'adjust-to-utc': icebergType === 'timestamptz' };
    default:
      throw new Error(`Iceberg type ${icebergType} is not supported in chainlake's manifests`);
  }
}

/** An optional field: union with null first, default null (spec Appendix A). */
export function optionalField(name: string, fieldId: number, type: unknown): AvroField {
  return { name, type: ['null', type], default: null, 'field-id': fieldId };
}

export function requiredField(name: string, fieldId: number, type: unknown): AvroField {
  return { name, type, 'field-id': fieldId };
}

/** Iceberg map<int, V> in Avro: an array of key/value records with logicalType map (keys are not strings). */
export function intMapType(keyId: number, valueId: number, valueType: unknown): unknown {
  return {
    type: 'array',
    logicalType: 'map',
    items: {
      type: 'record',
      name: `k${keyId}_v${valueId}`,
      fields: [requiredField('key', keyId, 'int'), requiredField('value', valueId, valueType)],
    },
  };
}

export function listType(elementId: number, elementType: unknown): unknown {
  return { type: 'array', items: elementType, 'element-id': elementId };
}

/** A name Avro accepts, made the way Iceberg's reference implementation does (`a-b` → `a_x2Db`). */
export function avroName(name: string): string {
  let out = '';
  for (const [i, ch] of [...name].entries()) {
    const ok = i === 0 ? /[A-Za-z_]/.test(ch) : /[A-Za-z0-9_]/.test(ch);
    if (ok) out += ch;
    else if (i === 0 && /[0-9]/.test(ch)) out += `_${ch}`;
    else out += `_x${ch.codePointAt(0)!.toString(16).toUpperCase()}`;
  }
  return out === '' ? '_' : out;
}
