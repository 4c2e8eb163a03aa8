import { describe, expect, it } from 'vitest';
import { hostname } from 'node:os';
import { advertisedHost, commonConfigShape, ConfigError, env, loadConfig } from '../src/index.js';

function configError(load: () => unknown): ConfigError {
  try {
    load();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('loadConfig accepted a bad configuration');
}

describe('loadConfig', () => {
  it('reads the variables named by the shape keys, with defaults', () => {
    const config = loadConfig(
      {
        A_INT: env.int(5),
        A_PORT: env.port(8080),
        A_STRING: env.string('x'),
        A_BOOL: env.bool(false),
        A_URL: env.url('http://localhost:1'),
        A_ENUM: env.enumOf(['snappy', 'zstd'] as const, 'snappy'),
        A_OPT: env.optionalInt(),
      },
      {},
    );
    expect(config).toEqual({ A_INT: 5, A_PORT: 8080, A_STRING: 'x', A_BOOL: false, A_URL: 'http://localhost:1', A_ENUM: 'snappy', A_OPT: undefined });
  });

  it('parses set values', () => {
    const shape = { N: env.int(), P: env.port(1), B: env.bool(false), U: env.url(), E: env.enumOf(['a', 'b'] as const), O: env.optionalInt() };
    expect(loadConfig(shape, { N: '-42', P: '0', B: 'YES', U: 's3://bucket/prefix', E: 'b', O: '7' })).toEqual({
      N: -42,
      P: 0,
      B: true,
      U: 's3://bucket/prefix',
      E: 'b',
      O: 7,
    });
    for (const [raw, value] of [['true', true], ['1', true], ['yes', true], ['false', false], ['0', false], ['No', false]] as const) {
      expect(loadConfig({ B: env.bool(!value) }, { B: raw }).B).toBe(value);
    }
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ N: env.int(3), S: env.string('d') }, { N: '', S: '  ' })).toEqual({ N: 3, S: 'd' });
    expect(configError(() => loadConfig({ S: env.string() }, { S: '' })).message).toBe('S: required, not set');
  });

  it('names a bad value and what was expected', () => {
    expect(configError(() => loadConfig({ CHAINLAKE_HTTP_PORT: env.port(1) }, { CHAINLAKE_HTTP_PORT: 'abc' })).message).toBe(
      'CHAINLAKE_HTTP_PORT: expected an integer 0-65535, got "abc"',
    );
    expect(configError(() => loadConfig({ P: env.port(1) }, { P: '70000' })).message).toBe('P: expected an integer 0-65535, got "70000"');
    expect(configError(() => loadConfig({ N: env.int(1, { min: 1, max: 10 }) }, { N: '11' })).message).toBe('N: expected an integer 1-10, got "11"');
    expect(configError(() => loadConfig({ N: env.int(1, { min: 1 }) }, { N: '1.5' })).message).toBe('N: expected an integer ≥ 1, got "1.5"');
    expect(configError(() => loadConfig({ B: env.bool(true) }, { B: 'maybe' })).message).toBe('B: expected true/false/1/0/yes/no, got "maybe"');
    expect(configError(() => loadConfig({ U: env.url() }, { U: 'not a url' })).message).toBe('U: expected a URL, got "not a url"');
    expect(configError(() => loadConfig({ E: env.enumOf(['a', 'b']) }, { E: 'c' })).message).toBe('E: expected one of a, b, got "c"');
    expect(configError(() => loadConfig({ O: env.optionalInt() }, { O: 'x' })).message).toBe('O: expected an integer, got "x"');
    expect(configError(() => loadConfig({ S: env.string(undefined, { pattern: /^[a-z]+$/ }) }, { S: 'A1' })).message).toBe(
      'S: expected a value matching ^[a-z]+$, got "A1"',
    );
  });

  it('names a missing required variable', () => {
    expect(configError(() => loadConfig({ CHAINLAKE_PG_URL: env.url() }, {})).message).toBe('CHAINLAKE_PG_URL: required, not set');
  });

  it('names every bad variable at once', () => {
    const error = configError(() =>
      loadConfig({ ...commonConfigShape, EXTRA: env.int() }, { CHAINLAKE_PREFIX: 'Chain.Lake', CHAINLAKE_LOG_LEVEL: 'loud', EXTRA: 'x' }),
    );
    expect(error.variables).toEqual(['CHAINLAKE_PREFIX', 'CHAINLAKE_LOG_LEVEL', 'EXTRA']);
    expect(error.message).toContain('CHAINLAKE_PREFIX: expected a value matching ^[a-z][a-z0-9_]*$, got "Chain.Lake"');
    expect(error.message).toContain('CHAINLAKE_LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"');
    expect(error.message).toContain('EXTRA: expected an integer, got "x"');
  });

  it('has documented common defaults', () => {
    expect(loadConfig(commonConfigShape, {})).toEqual({
      CHAINLAKE_NATS_URL: 'nats://127.0.0.1:4222',
      CHAINLAKE_PREFIX: 'chainlake',
      CHAINLAKE_CHAIN: 'synthetic',
      CHAINLAKE_CHAIN_ID: 1337,
      CHAINLAKE_LOG_LEVEL: 'info',
      CHAINLAKE_HOST: '127.0.0.1',
      CHAINLAKE_ADVERTISE_HOST: '',
      CHAINLAKE_SHUTDOWN_TIMEOUT_MS: 15_000,
    });
  });

  it('advertises CHAINLAKE_ADVERTISE_HOST, else the bind address, else the host name for a wildcard bind', () => {
    expect(advertisedHost({ CHAINLAKE_HOST: '0.0.0.0', CHAINLAKE_ADVERTISE_HOST: 'source-1' })).toBe('source-1');
    expect(advertisedHost({ CHAINLAKE_HOST: '10.0.0.5', CHAINLAKE_ADVERTISE_HOST: '' })).toBe('10.0.0.5');
    expect(advertisedHost({ CHAINLAKE_HOST: '0.0.0.0', CHAINLAKE_ADVERTISE_HOST: '' })).toBe(hostname());
  });

  it('accepts several NATS servers, and rejects a bad one', () => {
    expect(loadConfig(commonConfigShape, { CHAINLAKE_NATS_URL: 'nats://a:4222, nats://b:4222' }).CHAINLAKE_NATS_URL).toBe('nats://a:4222,nats://b:4222');
    expect(configError(() => loadConfig(commonConfigShape, { CHAINLAKE_NATS_URL: 'nats://a:4222,::' })).variables).toEqual(['CHAINLAKE_NATS_URL']);
  });
});
