import { describe, expect, it } from 'vitest';
import { createMetrics } from '../src/index.js';

describe('createMetrics', () => {
  it('prefixes every metric with chainlake_<service>_, default process metrics included', async () => {
    const metrics = createMetrics('archiver');
    metrics.counter('rows_written_total', 'Rows written', ['dataset']).inc({ dataset: 'logs' }, 5);
    metrics.gauge('lag_blocks', 'Blocks behind the head').set(3);
    metrics.histogram('write_seconds', 'Write time', [], [0.1, 1]).observe(0.5);
    const text = await metrics.registry.metrics();
    expect(text).toContain('chainlake_archiver_rows_written_total{dataset="logs"} 5');
    expect(text).toContain('chainlake_archiver_lag_blocks 3');
    expect(text).toContain('chainlake_archiver_write_seconds_bucket{le="1"} 1');
    expect(text).toContain('chainlake_archiver_process_cpu_user_seconds_total');
    const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
    expect(names.filter((n) => !n.startsWith('chainlake_archiver_'))).toEqual([]);
  });

  it('returns the same metric when asked twice, and refuses a clash of kinds', () => {
    const metrics = createMetrics('source');
    expect(metrics.counter('blocks_total', 'Blocks')).toBe(metrics.counter('blocks_total', 'Blocks'));
    expect(() => metrics.gauge('blocks_total', 'Blocks')).toThrow(/already registered as another kind/);
  });
});
