import { describe, expect, it } from 'vitest';
import { createMetrics } from '@chainlake/service';
import { JobInputError, JobRunner, parseSchedule, startSchedule, type JobKind } from '../src/index.js';

const quiet = { info() {}, warn() {} };

interface Sleep {
  table: string;
  ms: number;
}

const sleepJob: JobKind<Sleep, { slept: number }> = {
  name: 'sleep',
  parse(input) {
    const { table, ms } = input as Partial<Sleep>;
    if (typeof table !== 'string' || typeof ms !== 'number' || ms < 0) throw new JobInputError('expected {table: string, ms: number ≥ 0}');
    return { table, ms };
  },
  key: (p) => p.table,
  run: (p, ctx) =>
    new Promise((resolve, reject) => {
      ctx.progress({ planned_ms: p.ms });
      const timer = setTimeout(() => resolve({ slept: p.ms }), p.ms);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(new Error('stopped early'));
      });
    }),
};

function runner(timeoutMs = 5_000) {
  const metrics = createMetrics('jobs_test');
  return { metrics, jobs: new JobRunner({ timeoutMs, metrics, log: quiet }).register(sleepJob) };
}

async function count(metrics: ReturnType<typeof createMetrics>, result: string): Promise<number> {
  const values = (await metrics.registry.getSingleMetric('chainlake_jobs_test_jobs_total')!.get()).values;
  return values.filter((v) => v.labels.result === result).reduce((sum, v) => sum + v.value, 0);
}

describe('JobRunner', () => {
  it('runs a job and reports its result and progress', async () => {
    const { jobs, metrics } = runner();
    const pending = jobs.submit('sleep', { table: 'eth.blocks', ms: 50 });
    await new Promise((r) => setTimeout(r, 10));
    expect(jobs.status()).toEqual([expect.objectContaining({ job: 'sleep', key: 'eth.blocks', progress: { planned_ms: 50 } })]);
    const outcome = await pending;
    expect(outcome).toMatchObject({ ok: true, job: 'sleep', key: 'eth.blocks', result: { slept: 50 } });
    expect(jobs.status()).toEqual([]);
    expect(await count(metrics, 'ok')).toBe(1);
  });

  it('refuses invalid input and unknown jobs before starting anything', async () => {
    const { jobs, metrics } = runner();
    expect(await jobs.submit('sleep', { table: 'x', ms: -1 })).toMatchObject({ ok: false, reason: 'invalid', error: expect.stringContaining('ms: number ≥ 0') });
    expect(await jobs.submit('nope', {})).toMatchObject({ ok: false, reason: 'invalid', error: 'unknown job "nope"; jobs are sleep' });
    expect(await count(metrics, 'invalid')).toBe(2);
  });

  it('runs one job per key at a time, others in parallel', async () => {
    const { jobs } = runner();
    const first = jobs.submit('sleep', { table: 'a', ms: 100 });
    const other = jobs.submit('sleep', { table: 'b', ms: 10 });
    const second = await jobs.submit('sleep', { table: 'a', ms: 10 });
    expect(second).toMatchObject({ ok: false, reason: 'busy', error: expect.stringMatching(/^a sleep job on a has been running since/) });
    expect((await other).ok).toBe(true);
    expect((await first).ok).toBe(true);
    expect((await jobs.submit('sleep', { table: 'a', ms: 1 })).ok).toBe(true);
  });

  it('aborts a job at its timeout', async () => {
    const { jobs } = runner(50);
    expect(await jobs.submit('sleep', { table: 'a', ms: 5_000 })).toMatchObject({ ok: false, reason: 'timeout', error: 'timed out after 50 ms: stopped early' });
  });

  it('aborts running jobs on shutdown and refuses new ones', async () => {
    const { jobs } = runner();
    const pending = jobs.submit('sleep', { table: 'a', ms: 5_000 });
    await new Promise((r) => setTimeout(r, 10));
    await jobs.shutdown();
    expect(await pending).toMatchObject({ ok: false, reason: 'shutdown' });
    expect(await jobs.submit('sleep', { table: 'a', ms: 1 })).toMatchObject({ ok: false, reason: 'shutdown' });
  });
});

describe('schedule', () => {
  it('parses entries and names what is wrong in a bad one', () => {
    expect(parseSchedule('merge=*/10 * * * *; maintenance=0 3 * * *', ['merge', 'maintenance'])).toEqual([
      { job: 'merge', cron: '*/10 * * * *' },
      { job: 'maintenance', cron: '0 3 * * *' },
    ]);
    expect(parseSchedule('', ['merge'])).toEqual([]);
    expect(() => parseSchedule('merge=61 * * * *', ['merge'])).toThrow(/schedule entry "merge=61 \* \* \* \*": bad cron expression/);
    expect(() => parseSchedule('purge=* * * * *', ['merge'])).toThrow('unknown job "purge"; jobs are merge');
    expect(() => parseSchedule('merge', ['merge'])).toThrow('expected <job>=<cron expression>');
  });

  it('fires jobs at their ticks until stopped', async () => {
    const fired: string[] = [];
    const stop = startSchedule([{ job: 'merge', cron: '* * * * * *' }], async (job) => void fired.push(job));
    await new Promise((r) => setTimeout(r, 2_100));
    stop();
    const seen = fired.length;
    expect(seen).toBeGreaterThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 1_100));
    expect(fired.length).toBe(seen);
  });
});
