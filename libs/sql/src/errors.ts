/**
 * A statement the caller got wrong: a syntax, binder or catalog error, a statement that is not a
 * query, a bad parameter or a value a result column cannot carry. The message is DuckDB's
 * own where DuckDB raised it.
 */
export class SqlError extends Error {
  override readonly name = 'SqlError';
}

/** DuckDB error classes that are the server's problem, not the statement's. */
const SERVER_SIDE = /^(IO|Out of Memory|INTERNAL|FATAL|Interrupt|Connection|Serialization|Transaction) Error/i;

/** DuckDB's error as a SqlError when the statement caused it; unchanged otherwise. */
export function classify(err: unknown): unknown {
  if (err instanceof SqlError || !(err instanceof Error)) return err;
  return SERVER_SIDE.test(err.message) ? err : new SqlError(err.message);
}

export function isIoError(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('IO Error');
}
