import { z } from 'zod';
import { jsonCodec, serveRequests, type Bus, type RequestServer } from '@chainlake/bus';
import type { JobOutcome, JobRunner } from '@chainlake/jobs';
import type { FastifyInstance } from 'fastify';

/** A manual job request over NATS: `{v: 1, …the job's parameters}`. */
const JobRequest = jsonCodec('CompactorJobRequest', z.looseObject({ v: z.literal(1) }));
const JobReply = jsonCodec(
  'CompactorJobReply',
  z.object({
    v: z.literal(1),
    ok: z.boolean(),
    job: z.string(),
    key: z.string().optional(),
    result: z.json().optional(),
    reason: z.string().optional(),
    error: z.string().optional(),
    durationMs: z.number().optional(),
  }),
);

/** The job's outcome as the reply; results are plain JSON objects. */
const reply = (outcome: JobOutcome) => ({ v: 1 as const, ...outcome, result: outcome.ok ? (outcome.result as z.infer<ReturnType<typeof z.json>>) : undefined });

/** `<prefix>.control.compactor.<job>` for every job, in the queue group `compactor` (one replica answers). */
export function serveJobRequests(bus: Bus, jobs: JobRunner, onInvalid: () => void): RequestServer[] {
  return jobs.jobNames().map((job) =>
    serveRequests(bus, bus.subjects.control('compactor', job), {
      queue: 'compactor',
      request: JobRequest,
      reply: JobReply,
      onInvalid,
      errorReply: (error) => ({ v: 1, ok: false, job, error }),
      handler: async ({ v: _v, ...params }) => reply(await jobs.submit(job, params)),
    }),
  );
}

/** POST /jobs/<job> with the parameters as the JSON body (200 done, 400 refused, 409 busy, 500 failed); GET /jobs lists running jobs. */
export function jobRoutes(http: FastifyInstance, jobs: JobRunner): void {
  const status = { invalid: 400, busy: 409, timeout: 504, failed: 500, shutdown: 503 } as const;
  http.get('/jobs', async () => ({ jobs: jobs.jobNames(), running: jobs.status() }));
  http.post<{ Params: { job: string } }>('/jobs/:job', async (req, res) => {
    const outcome = await jobs.submit(req.params.job, req.body ?? {});
    return res.code(outcome.ok ? 200 : status[outcome.reason]).send(outcome);
  });
}
