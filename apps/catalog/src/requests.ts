import { z } from 'zod';
import type { IcebergSchema, TableRequirement, TableUpdate } from '@chainlake/iceberg';
import { badRequest } from './errors.js';

/**
 * Request bodies of the REST catalog (Iceberg REST OpenAPI), validated before anything is read or written.
 * Unknown keys are dropped; unknown requirement types and update actions are refused, as the spec demands.
 */

const int = z.int();
const int64 = z.int();
const properties = z.record(z.string(), z.string());
const identifierName = z.string().min(1);

const PRIMITIVE_TYPE =
  /^(boolean|int|long|float|double|date|time|timestamp|timestamptz|timestamp_ns|timestamptz_ns|string|uuid|binary|decimal\(\s*\d+\s*,\s*\d+\s*\)|fixed\[\d+\])$/;

const field = z.object({
  id: int.nonnegative(),
  name: z.string().min(1),
  required: z.boolean(),
  type: z.union([z.string(), z.object({ type: z.string() }).loose()]).check((ctx) => {
    if (typeof ctx.value !== 'string') {
      ctx.issues.push({ code: 'custom', message: `nested types (${ctx.value.type}) are not supported`, input: ctx.value });
    } else if (!PRIMITIVE_TYPE.test(ctx.value)) {
      ctx.issues.push({ code: 'custom', message: `unknown type ${JSON.stringify(ctx.value)}`, input: ctx.value });
    }
  }) as z.ZodType<string>,
  doc: z.string().optional(),
});

const schema = z.object({
  type: z.literal('struct'),
  'schema-id': int.nonnegative().default(0),
  'identifier-field-ids': z.array(int).optional(),
  fields: z.array(field),
}) satisfies z.ZodType<IcebergSchema>;

const partitionField = z.object({
  'source-id': int,
  'field-id': int.optional(),
  name: z.string().min(1),
  transform: z.string().min(1),
});
const partitionSpecInput = z.object({ 'spec-id': int.nonnegative().optional(), fields: z.array(partitionField) });

const sortField = z.object({
  transform: z.string().min(1),
  'source-id': int,
  direction: z.enum(['asc', 'desc']),
  'null-order': z.enum(['nulls-first', 'nulls-last']),
});
const sortOrderInput = z.object({ 'order-id': int.nonnegative().optional(), fields: z.array(sortField) });

const snapshot = z.object({
  'snapshot-id': int64,
  'parent-snapshot-id': int64.nullish().transform((v) => v ?? undefined),
  'sequence-number': int64.nonnegative(),
  'timestamp-ms': int64.nonnegative(),
  'manifest-list': z.string().min(1),
  summary: z.looseObject({ operation: z.enum(['append', 'replace', 'overwrite', 'delete']) }).check((ctx) => {
    for (const [key, value] of Object.entries(ctx.value)) {
      if (typeof value !== 'string') ctx.issues.push({ code: 'custom', message: `summary values must be strings (${key})`, input: value });
    }
  }),
  'schema-id': int.optional(),
});

const snapshotRef = {
  type: z.enum(['branch', 'tag']),
  'snapshot-id': int64,
  'max-ref-age-ms': int64.optional(),
  'max-snapshot-age-ms': int64.optional(),
  'min-snapshots-to-keep': int.optional(),
};

function unknownKind(kind: string, key: string, known: readonly string[]) {
  return (issue: z.core.$ZodRawIssue): string | undefined => {
    if (issue.code !== 'invalid_union') return undefined;
    const value = (issue.input as Record<string, unknown> | undefined)?.[key];
    return value === undefined
      ? `missing "${key}" (expected one of ${known.join(', ')})`
      : `unknown ${kind} ${JSON.stringify(value)} (expected one of ${known.join(', ')})`;
  };
}

const requirementSchemas = [
  z.object({ type: z.literal('assert-create') }),
  z.object({ type: z.literal('assert-table-uuid'), uuid: z.string().min(1) }),
  z.object({ type: z.literal('assert-ref-snapshot-id'), ref: z.string().min(1), 'snapshot-id': int64.nullable() }),
  z.object({ type: z.literal('assert-last-assigned-field-id'), 'last-assigned-field-id': int }),
  z.object({ type: z.literal('assert-current-schema-id'), 'current-schema-id': int }),
  z.object({ type: z.literal('assert-last-assigned-partition-id'), 'last-assigned-partition-id': int }),
  z.object({ type: z.literal('assert-default-spec-id'), 'default-spec-id': int }),
  z.object({ type: z.literal('assert-default-sort-order-id'), 'default-sort-order-id': int }),
] as const;
const requirement = z.discriminatedUnion('type', requirementSchemas, {
  error: unknownKind('requirement type', 'type', requirementSchemas.map((s) => s.shape.type.value)),
});

const updateSchemas = [
  z.object({ action: z.literal('assign-uuid'), uuid: z.string().min(1) }),
  z.object({ action: z.literal('upgrade-format-version'), 'format-version': int }),
  z.object({ action: z.literal('add-schema'), schema, 'last-column-id': int.optional() }),
  z.object({ action: z.literal('set-current-schema'), 'schema-id': int }),
  z.object({ action: z.literal('add-spec'), spec: partitionSpecInput }),
  z.object({ action: z.literal('set-default-spec'), 'spec-id': int }),
  z.object({ action: z.literal('add-sort-order'), 'sort-order': sortOrderInput }),
  z.object({ action: z.literal('set-default-sort-order'), 'sort-order-id': int }),
  z.object({ action: z.literal('add-snapshot'), snapshot }),
  z.object({ action: z.literal('set-snapshot-ref'), 'ref-name': z.string().min(1), ...snapshotRef }),
  z.object({ action: z.literal('remove-snapshots'), 'snapshot-ids': z.array(int64) }),
  z.object({ action: z.literal('remove-snapshot-ref'), 'ref-name': z.string().min(1) }),
  z.object({ action: z.literal('set-location'), location: z.string().min(1) }),
  z.object({ action: z.literal('set-properties'), updates: properties }),
  z.object({ action: z.literal('remove-properties'), removals: z.array(z.string()) }),
] as const;
const update = z.discriminatedUnion('action', updateSchemas, {
  error: unknownKind('update action', 'action', updateSchemas.map((s) => s.shape.action.value)),
});

const tableIdentifier = z.object({ namespace: z.array(z.string()), name: identifierName });

const commitTable = z.object({
  identifier: tableIdentifier.optional(),
  requirements: z.array(requirement),
  updates: z.array(update),
});

export const CreateNamespaceRequest = z.object({ namespace: z.array(z.string()).min(1), properties: properties.default({}) });
export const UpdateNamespacePropertiesRequest = z.object({ removals: z.array(z.string()).default([]), updates: properties.default({}) });
export const CreateTableRequest = z.object({
  name: identifierName,
  location: z.string().min(1).optional(),
  schema,
  'partition-spec': partitionSpecInput.optional(),
  'write-order': sortOrderInput.optional(),
  'stage-create': z.boolean().default(false),
  properties: properties.default({}),
});
export const CommitTableRequest = commitTable;
export const CommitTransactionRequest = z.object({
  'table-changes': z.array(commitTable.extend({ identifier: tableIdentifier })).min(1),
});
export const RenameTableRequest = z.object({ source: tableIdentifier, destination: tableIdentifier });

export interface CommitTableBody {
  requirements: TableRequirement[];
  updates: TableUpdate[];
}

/**
 * A parsed commit as the library's types. Specs and sort orders may come without their ids (applyUpdates
 * assigns them), which is the only way the parsed form differs from TableUpdate.
 */
export const toCommitBody = (parsed: z.infer<typeof commitTable>): CommitTableBody => ({
  requirements: parsed.requirements,
  updates: parsed.updates as TableUpdate[],
});

/** `what: path: problem; path: problem`, or a 400 BadRequestException when the body does not fit. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown, what: string): z.infer<S> {
  if (body === undefined || body === null) throw badRequest(`${what}: a JSON body is required`);
  const result = schema.safeParse(body, { error: (issue) => (issue.input === undefined ? 'required' : undefined) });
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(body)'}: ${issue.message}`);
  throw badRequest(`invalid ${what}: ${problems.join('; ')}`);
}
