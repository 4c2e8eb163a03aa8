import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export type LogLine = Record<string, unknown> & { msg: string; level: string };

/** The tiny fixture service as a child process, with its JSON log lines collected. */
export class TinyService {
  readonly lines: LogLine[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private waiters: (() => void)[] = [];

  constructor(vars: Record<string, string>) {
    const script = fileURLToPath(new URL('./fixtures/tiny-service.ts', import.meta.url));
    this.child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: { ...process.env, CHAINLAKE_HTTP_PORT: '0', ...vars },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      this.lines.push(JSON.parse(line) as LogLine);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.exited = once(this.child, 'exit').then(([code]) => code as number | null);
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.child.kill(signal);
  }

  messages(): string[] {
    return this.lines.map((l) => l.msg);
  }

  async waitForLine(msg: string, timeoutMs = 20_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.lines.find((l) => l.msg === msg);
      if (line) return line;
      if (Date.now() > deadline) throw new Error(`no log line "${msg}" within ${timeoutMs} ms; got ${JSON.stringify(this.messages())}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200).unref();
      });
    }
  }

  /** Waits for `http listening` and returns the base URL. */
  async url(): Promise<string> {
    const { port } = await this.waitForLine('http listening');
    return `http://127.0.0.1:${port as number}`;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}
