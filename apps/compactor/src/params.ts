import { z } from 'zod';
import { JobInputError } from '@chainlake/jobs';

/** Block numbers and counts as JSON numbers, or as digit strings (HTTP query-style clients, hand-written JSON). */
const wholeNumber = (min: number) =>
  z.union([z.number(), z.string().regex(/^\d+$/, 'expected a whole number').transform(Number)]).pipe(z.number().int().min(min).max(Number.MAX_SAFE_INTEGER));

/** `true`/`false`, or the same as text (`--delete-after-compact false` on the CLI arrives as a string). */
const flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((s) => s === 'true')]);

export const blockNumber = wholeNumber(0);
export const positiveCount = wholeNumber(1);
export const duration = wholeNumber(0);
export const booleanFlag = flag;

/**
 * Parses job parameters with a strict object schema (an unknown parameter is refused, so a typo never silently
 * falls back to a default) and turns the first problem into a JobInputError naming the parameter.
 */
export function parseParams<S extends z.ZodRawShape>(job: string, shape: S, input: unknown): z.infer<z.ZodObject<S>> {
  const result = z.strictObject(shape).safeParse(input ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  const known = Object.keys(shape).join(', ');
  throw new JobInputError(`${job}: ${where}${issue.message}${issue.code === 'unrecognized_keys' ? ` (parameters are ${known})` : ''}`);
}
