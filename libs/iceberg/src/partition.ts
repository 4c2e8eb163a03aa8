import { applyTransform, parseTransform, transformResultType, type TransformValue } from '@chainlake/partitioning';
import type { DataFile, IcebergSchema, PartitionSpec } from './types.js';

/** The result types of a spec's partition fields, in spec order. */
export function partitionTypes(spec: PartitionSpec, schema: Pick<IcebergSchema, 'fields' | 'schema-id'>): string[] {
  return spec.fields.map((field) => {
    const source = schema.fields.find((f) => f.id === field['source-id']);
    if (!source) throw new Error(`partition field ${field.name}: source column ${field['source-id']} is not in schema ${schema['schema-id']}`);
    if (typeof source.type !== 'string') throw new Error(`partition field ${field.name}: source column ${source.name} is not a primitive`);
    return transformResultType(parseTransform(field.transform), source.type);
  });
}

/**
 * The partition tuple (DataFile.partition) of a row under a spec, from the row's source column values
 * by column name (see TransformValue in @chainlake/partitioning for their forms; longs may be bigint).
 */
export function partitionValues(
  spec: PartitionSpec,
  schema: Pick<IcebergSchema, 'fields'>,
  row: Record<string, TransformValue | undefined>,
): DataFile['partition'] {
  const partition: DataFile['partition'] = {};
  for (const field of spec.fields) {
    const source = schema.fields.find((f) => f.id === field['source-id']);
    if (!source) throw new Error(`partition field ${field.name}: source column ${field['source-id']} is not in the schema`);
    const value = row[source.name];
    if (value === undefined) throw new Error(`partition field ${field.name} needs a value of column ${source.name}`);
    const result = applyTransform(parseTransform(field.transform), source.type, value);
    if (typeof result === 'bigint') {
      if (result > BigInt(Number.MAX_SAFE_INTEGER) || result < BigInt(Number.MIN_SAFE_INTEGER)) {
        throw new Error(`partition value ${result} of ${field.name} is beyond 2^53`);
      }
      partition[field.name] = Number(result);
    } else if (result === null || typeof result === 'number' || typeof result === 'string') {
      partition[field.name] = result;
    } else {
      throw new Error(`partition field ${field.name}: ${typeof result} partition values are not supported`);
    }
  }
  return partition;
}
