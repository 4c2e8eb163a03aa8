import { HeadMessage, type Bus } from '@chainlake/bus';

/**
 * The chain's finalized height as head messages report it: the highest seen (finality never goes back). Unknown
 * until the first head message after start; jobs that need it are refused until then.
 */
export class FinalizedHeight {
  private height: number | undefined;

  observe(finalized: number): boolean {
    if (this.height !== undefined && finalized <= this.height) return false;
    this.height = finalized;
    return true;
  }

  get value(): number | undefined {
    return this.height;
  }
}

/** Follows `<prefix>.<chain>.head` (core NATS); calls `onAdvance` when the finalized height moves up. */
export function followHeads(bus: Bus, chain: string, height: FinalizedHeight, handlers: { onAdvance(): void; onInvalid(err: Error): void }): () => void {
  const subscription = bus.nc.subscribe(bus.subjects.head(chain), {
    callback: (err, msg) => {
      if (err) return;
      try {
        if (height.observe(HeadMessage.decode(msg.data).finalized)) handlers.onAdvance();
      } catch (error) {
        handlers.onInvalid(error as Error);
      }
    },
  });
  return () => subscription.unsubscribe();
}
