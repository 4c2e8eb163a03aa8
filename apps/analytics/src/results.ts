import type { WindowResult } from '@chainlake/aggregation';

/** Results kept per definition for the HTTP API: the most recent windows and groups. */
const PER_DEFINITION = 10_000;

/** The latest revision of every recently emitted window and group, per definition. */
export class LatestResults {
  private readonly byDefinition = new Map<string, Map<string, WindowResult>>();

  record(result: WindowResult): void {
    let results = this.byDefinition.get(result.definition);
    if (!results) this.byDefinition.set(result.definition, (results = new Map()));
    const key = `${result.windowStart}|${JSON.stringify(result.group)}`;
    results.delete(key);
    results.set(key, result);
    if (results.size > PER_DEFINITION) results.delete(results.keys().next().value!);
  }

  of(definition: string): WindowResult[] {
    return [...(this.byDefinition.get(definition)?.values() ?? [])];
  }

  forget(definition: string): void {
    this.byDefinition.delete(definition);
  }
}
