import { Cron } from 'croner';

export interface ScheduleEntry {
  job: string;
  cron: string;
}

/**
 * Parses `<job>=<cron>;<job>=<cron>` (five or six cron fields, UTC), e.g. `merge=*\/10 * * * *;maintenance=0 3 * * *`.
 * Throws naming the bad entry; every job must be one of `jobs`.
 */
export function parseSchedule(text: string, jobs: readonly string[]): ScheduleEntry[] {
  const entries: ScheduleEntry[] = [];
  for (const part of text.split(';').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`schedule entry "${part}": expected <job>=<cron expression>`);
    const job = part.slice(0, eq).trim();
    const cron = part.slice(eq + 1).trim();
    if (!jobs.includes(job)) throw new Error(`schedule entry "${part}": unknown job "${job}"; jobs are ${jobs.join(', ')}`);
    try {
      new Cron(cron, { paused: true, timezone: 'UTC' }).stop();
    } catch (err) {
      throw new Error(`schedule entry "${part}": bad cron expression: ${(err as Error).message}`, { cause: err });
    }
    entries.push({ job, cron });
  }
  return entries;
}

/** Calls `fire(job)` at every cron tick of every entry (a tick is skipped while the previous run is still going); returns a stop function. */
export function startSchedule(entries: readonly ScheduleEntry[], fire: (job: string) => Promise<unknown>): () => void {
  const crons = entries.map((e) => new Cron(e.cron, { timezone: 'UTC', protect: true }, async () => void (await fire(e.job))));
  return () => {
    for (const c of crons) c.stop();
  };
}
