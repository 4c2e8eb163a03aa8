import type { Counter, Gauge, Histogram } from 'prom-client';

/** Input a job refuses before it starts; the message says what was wrong. */
export class JobInputError extends Error {
  override name = 'JobInputError';
}

export interface JobContext {
  /** Aborted on timeout and on shutdown; a job stops at its next check and leaves nothing half-done. */
  signal: AbortSignal;
  /** Replaces the job's progress counters (rows, files, …), shown by `status()`. */
  progress(counters: Record<string, number>): void;
}

export interface JobKind<P, R> {
  name: string;
  /** Validates a request; throws JobInputError (or any Error) naming what is wrong. */
  parse(input: unknown): P | Promise<P>;
  /** Jobs with the same key never run at the same time (for example the table a job writes). */
  key(params: P): string;
  run(params: P, ctx: JobContext): Promise<R>;
}

export type JobOutcome<R = unknown> =
  | { ok: true; job: string; key: string; result: R; durationMs: number }
  | { ok: false; job: string; key?: string; error: string; reason: 'invalid' | 'busy' | 'timeout' | 'failed' | 'shutdown'; durationMs: number };

export interface RunningJob {
  job: string;
  key: string;
  startedAt: string;
  progress: Record<string, number>;
}

export interface JobMetrics {
  counter(name: string, help: string, labelNames?: string[]): Counter<string>;
  gauge(name: string, help: string, labelNames?: string[]): Gauge<string>;
  histogram(name: string, help: string, labelNames?: string[], buckets?: number[]): Histogram<string>;
}

interface Running extends RunningJob {
  abort: AbortController;
  done: Promise<unknown>;
}

/**
 * Runs registered kinds of jobs: input validated before anything starts, one job per key at a time, a timeout
 * per job, progress and outcomes in metrics. A job that fails, times out or is refused is reported, never thrown.
 */
export class JobRunner {
  private readonly kinds = new Map<string, JobKind<unknown, unknown>>();
  private readonly running = new Map<string, Running>();
  private closed = false;
  private readonly outcomes: Counter<string>;
  private readonly active: Gauge<string>;
  private readonly durations: Histogram<string>;

  constructor(private readonly options: { timeoutMs: number; metrics: JobMetrics; log: { info(o: object, m: string): void; warn(o: object, m: string): void } }) {
    this.outcomes = options.metrics.counter('jobs_total', 'Jobs by kind and outcome (ok, invalid, busy, timeout, failed, shutdown).', ['job', 'result']);
    this.active = options.metrics.gauge('jobs_running', 'Jobs running now, by kind.', ['job']);
    this.durations = options.metrics.histogram('job_duration_seconds', 'Wall time of finished jobs.', ['job'], [0.1, 0.5, 1, 5, 15, 60, 300, 1800]);
  }

  register<P, R>(kind: JobKind<P, R>): this {
    this.kinds.set(kind.name, kind as JobKind<unknown, unknown>);
    return this;
  }

  jobNames(): string[] {
    return [...this.kinds.keys()];
  }

  status(): RunningJob[] {
    return [...this.running.values()].map(({ job, key, startedAt, progress }) => ({ job, key, startedAt, progress: { ...progress } }));
  }

  /** Whether a job holding `key` is running. */
  busy(key: string): boolean {
    return this.running.has(key);
  }

  async submit(jobName: string, input: unknown, timeoutMs = this.options.timeoutMs): Promise<JobOutcome> {
    const started = performance.now();
    const finish = (outcome: JobOutcome): JobOutcome => {
      this.outcomes.inc({ job: jobName, result: outcome.ok ? 'ok' : outcome.reason });
      this.options.log[outcome.ok ? 'info' : 'warn']({ ...outcome, result: undefined }, outcome.ok ? 'job done' : 'job not done');
      return outcome;
    };
    const elapsed = (): number => Math.round(performance.now() - started);
    const kind = this.kinds.get(jobName);
    if (!kind) {
      return finish({ ok: false, job: jobName, reason: 'invalid', error: `unknown job "${jobName}"; jobs are ${this.jobNames().join(', ')}`, durationMs: 0 });
    }
    if (this.closed) return finish({ ok: false, job: jobName, reason: 'shutdown', error: 'shutting down', durationMs: 0 });
    let params: unknown;
    try {
      params = await kind.parse(input);
    } catch (err) {
      return finish({ ok: false, job: jobName, reason: 'invalid', error: (err as Error).message, durationMs: elapsed() });
    }
    const key = kind.key(params);
    const holder = this.running.get(key);
    if (holder) {
      return finish({ ok: false, job: jobName, key, reason: 'busy', error: `a ${holder.job} job on ${key} has been running since ${holder.startedAt}`, durationMs: elapsed() });
    }

    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    const entry: Running = { job: jobName, key, startedAt: new Date().toISOString(), progress: {}, abort, done: Promise.resolve() };
    const ctx: JobContext = { signal: abort.signal, progress: (counters) => void (entry.progress = { ...counters }) };
    this.running.set(key, entry);
    this.active.inc({ job: jobName });
    const run = kind.run(params, ctx);
    entry.done = run.catch(() => undefined);
    try {
      const result = await run;
      return finish({ ok: true, job: jobName, key, result, durationMs: elapsed() });
    } catch (err) {
      const reason = abort.signal.aborted ? (this.closed ? 'shutdown' : 'timeout') : 'failed';
      const message = abort.signal.aborted ? `${(abort.signal.reason as Error).message}: ${(err as Error).message}` : (err as Error).message;
      return finish({ ok: false, job: jobName, key, reason, error: message, durationMs: elapsed() });
    } finally {
      clearTimeout(timer);
      this.running.delete(key);
      this.active.dec({ job: jobName });
      this.durations.observe({ job: jobName }, (performance.now() - started) / 1000);
    }
  }

  /** Refuses new jobs, aborts the running ones and waits for them to stop. */
  async shutdown(): Promise<void> {
    this.closed = true;
    const running = [...this.running.values()];
    for (const r of running) r.abort.abort(new Error('shutting down'));
    await Promise.all(running.map((r) => r.done));
  }
}
