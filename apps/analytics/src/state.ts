import { Aggregation, type Definition } from '@chainlake/aggregation';
import type { ObjectStore } from '@nats-io/obj';

/** Idempotency keys kept: far more messages than can be in flight within one ack wait. */
const APPLIED_KEYS = 10_000;
const OBJECT = 'state';

export interface SavedState {
  v: 1;
  applied: string[];
  /** The next block to apply, in block order. */
  nextBlock?: number;
  definitions: Record<string, { definition: string; snapshot: unknown }>;
}

/**
 * The engines' state and the keys of the messages already counted, saved together in one object
 * (NATS object store) so that a restart resumes from a consistent point: a message whose effect is
 * in the saved state is recognised when it is redelivered and not counted again. A save is taken
 * in two steps: `capture` copies the state between two changes (cheap), `write` serializes and
 * stores the copy while the engines go on.
 */
export class StateStore {
  private readonly appliedList: string[];
  private readonly appliedSet: Set<string>;

  private constructor(
    private readonly store: ObjectStore,
    private saved: SavedState,
  ) {
    this.appliedList = [...saved.applied];
    this.appliedSet = new Set(saved.applied);
  }

  static async open(store: ObjectStore): Promise<StateStore> {
    const blob = await store.getBlob(OBJECT);
    const saved: SavedState = blob ? (JSON.parse(new TextDecoder().decode(blob)) as SavedState) : { v: 1, applied: [], definitions: {} };
    if (saved.v !== 1) throw new Error(`analytics state has version ${String(saved.v)}; this service reads version 1`);
    return new StateStore(store, saved);
  }

  /** The engine as last saved, if it was saved for this very definition. */
  restore(definition: Definition): Aggregation | undefined {
    const saved = this.saved.definitions[definition.name];
    if (!saved || saved.definition !== JSON.stringify(definition)) return undefined;
    return Aggregation.restore(definition, saved.snapshot);
  }

  get nextBlock(): number | undefined {
    return this.saved.nextBlock;
  }

  applied(key: string): boolean {
    return this.appliedSet.has(key);
  }

  markApplied(key: string): void {
    this.appliedSet.add(key);
    this.appliedList.push(key);
    while (this.appliedList.length > APPLIED_KEYS) this.appliedSet.delete(this.appliedList.shift()!);
  }

  /** A copy of the whole state as it is now, sharing nothing that later changes touch. */
  capture(engines: ReadonlyMap<string, Aggregation>, nextBlock: number | undefined): SavedState {
    return {
      v: 1,
      applied: [...this.appliedList],
      nextBlock,
      definitions: Object.fromEntries(
        [...engines].map(([name, engine]) => [name, { definition: JSON.stringify(engine.definition), snapshot: engine.snapshot() }]),
      ),
    };
  }

  /** Stores a captured state; a later restart resumes from it. */
  async write(state: SavedState): Promise<void> {
    await this.store.putBlob({ name: OBJECT }, new TextEncoder().encode(JSON.stringify(state)));
    this.saved = state;
  }
}
