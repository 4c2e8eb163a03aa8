import { pino, type Logger } from 'pino';

/** JSON lines on stdout with `service`, a textual `level` and `msg`; synchronous so nothing is lost on exit. */
export function createLogger(service: string, level: string): Logger {
  return pino(
    {
      level,
      base: { service, pid: process.pid },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination({ dest: 1, sync: true }),
  );
}
