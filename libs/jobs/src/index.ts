export { JobRunner, JobInputError, type JobContext, type JobKind, type JobOutcome, type JobMetrics, type RunningJob } from './runner.js';
export { parseSchedule, startSchedule, type ScheduleEntry } from './schedule.js';
