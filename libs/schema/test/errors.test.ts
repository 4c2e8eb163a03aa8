import { describe, it, expect } from 'vitest';
import { RowError, toInt64 } from '../src/index.js';

describe('toInt64', () => {
  it('accepts the whole range [0, 2^63-1]', () => {
    expect(toInt64(0n, 'nonce')).toBe(0n);
    expect(toInt64(2n ** 63n - 1n, 'nonce')).toBe(9223372036854775807n);
  });

  it('rejects 2^63 with a RowError naming the column', () => {
    let error: unknown;
    try {
      toInt64(2n ** 63n, 'gas_used');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RowError);
    expect((error as RowError).column).toBe('gas_used');
    expect((error as RowError).message).toContain('gas_used');
    expect((error as RowError).message).toContain('9223372036854775808');
  });

  it('rejects negative values', () => {
    expect(() => toInt64(-1n, 'block_number')).toThrow(/block_number.*-1/);
  });
});
