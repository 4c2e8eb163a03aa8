import type { z } from 'zod';

/** A message that could not be decoded or does not match its schema; the message says what was wrong. */
export class MessageError extends Error {
  override name = 'MessageError';
}

export interface Codec<T> {
  readonly name: string;
  encode(value: T): Uint8Array;
  /** @throws MessageError */
  decode(data: Uint8Array): T;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** Zod issues as one readable line: `from: must be ≤ to; chain: Invalid string`. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(message)'}: ${issue.message}`).join('; ');
}

/** A JSON codec validated by `schema` in both directions: nothing invalid is sent or accepted. */
export function jsonCodec<S extends z.ZodType>(name: string, schema: S): Codec<z.infer<S>> {
  const validate = (value: unknown, what: string): z.infer<S> => {
    const result = schema.safeParse(value, { error: (issue) => (issue.input === undefined ? 'required' : undefined) });
    if (!result.success) throw new MessageError(`${what} ${name}: ${describeIssues(result.error.issues)}`);
    return result.data;
  };
  return {
    name,
    encode: (value) => encoder.encode(JSON.stringify(validate(value, 'cannot encode'))),
    decode: (data) => {
      let text: string;
      let parsed: unknown;
      try {
        text = utf8.decode(data);
      } catch {
        throw new MessageError(`invalid ${name}: not UTF-8 text`);
      }
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        throw new MessageError(`invalid ${name}: not JSON (${(err as Error).message})`);
      }
      return validate(parsed, 'invalid');
    },
  };
}
