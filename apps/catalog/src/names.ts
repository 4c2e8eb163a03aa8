import { badRequest } from './errors.js';

/**
 * Namespace and table names: lowercase ASCII letters, digits, `_` and `-`. They become path segments of the
 * warehouse and NATS subject tokens, so `/`, `.`, NUL, separators and non-ASCII look-alikes never pass. At most
 * 100 characters: the longest path parameter fastify routes by default.
 */
export const NAME_PATTERN = /^[a-z0-9_][a-z0-9_-]{0,99}$/;

const MULTIPART_SEPARATOR = '\u001f';

function checkName(kind: 'namespace' | 'table', value: unknown): string {
  if (typeof value === 'string' && NAME_PATTERN.test(value)) return value;
  if (kind === 'namespace' && typeof value === 'string' && value.includes(MULTIPART_SEPARATOR)) {
    throw badRequest(`invalid namespace ${JSON.stringify(value)}: nested namespaces are not supported`, 'invalid_name');
  }
  throw badRequest(`invalid ${kind} name ${JSON.stringify(value)}: expected ${NAME_PATTERN.source}`, 'invalid_name');
}

export const checkNamespace = (value: unknown): string => checkName('namespace', value);
export const checkTableName = (value: unknown): string => checkName('table', value);

/** A namespace as the REST API writes it in bodies: an array of levels, here exactly one. */
export function namespaceFromLevels(levels: readonly string[]): string {
  if (levels.length !== 1) {
    throw badRequest(`invalid namespace ${JSON.stringify(levels)}: expected exactly one level (nested namespaces are not supported)`, 'invalid_name');
  }
  return checkNamespace(levels[0]);
}
