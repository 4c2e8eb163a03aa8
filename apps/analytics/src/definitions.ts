import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { KV } from '@nats-io/kv';
import { parse as parseYaml } from 'yaml';
import { DefinitionError, parseDefinition, type Definition } from '@chainlake/aggregation';

/** The definitions of a JSON or YAML file: a list, or an object with a `definitions` list. */
export async function readDefinitionFile(path: string): Promise<unknown[]> {
  const text = await readFile(path, 'utf8');
  let parsed: unknown;
  try {
    parsed = ['.yaml', '.yml'].includes(extname(path)) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new DefinitionError(`${path} is not valid ${['.yaml', '.yml'].includes(extname(path)) ? 'YAML' : 'JSON'}: ${(err as Error).message}`);
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { definitions?: unknown } | null)?.definitions;
  if (!Array.isArray(list)) throw new DefinitionError(`${path} must hold a list of definitions, or an object with a "definitions" list`);
  return list;
}

/**
 * The definitions every replica shares, kept in a NATS KV bucket (key = definition name, value =
 * its JSON). Every change — from any replica, a request, the HTTP API or a file — reaches
 * `onChange` on every replica through the bucket's watch.
 */
export class DefinitionRegistry {
  private readonly known = new Map<string, Definition>();

  constructor(
    private readonly kv: KV,
    private readonly onChange: (name: string, definition: Definition | undefined) => Promise<void>,
    private readonly log: { warn(o: object, m?: string): void },
  ) {}

  /** Starts following the bucket; resolves once the definitions stored so far are applied. */
  async follow(signal: AbortSignal): Promise<void> {
    const stored: string[] = [];
    for await (const key of await this.kv.keys()) stored.push(key);
    const watch = await this.kv.watch();
    signal.addEventListener('abort', () => watch.stop(), { once: true });
    let caughtUp!: () => void;
    const ready = new Promise<void>((resolve) => (caughtUp = resolve));
    // The watch first replays the stored values; the last of them is the first marked isUpdate.
    if (stored.length === 0) caughtUp();
    void (async () => {
      for await (const entry of watch) {
        if (entry.operation === 'PUT') {
          try {
            const definition = parseDefinition(entry.json());
            this.known.set(entry.key, definition);
            await this.onChange(entry.key, definition);
          } catch (err) {
            this.log.warn({ definition: entry.key, err: (err as Error).message }, 'stored definition ignored');
          }
        } else {
          this.known.delete(entry.key);
          await this.onChange(entry.key, undefined);
        }
        if (entry.isUpdate) caughtUp();
      }
    })();
    await ready;
  }

  /** Checks a definition and stores it for every replica; a bad one throws DefinitionError. */
  async define(input: unknown): Promise<Definition> {
    const definition = parseDefinition(input);
    await this.kv.put(definition.name, JSON.stringify(input));
    return definition;
  }

  async drop(name: string): Promise<boolean> {
    const entry = await this.kv.get(name);
    if (entry?.operation !== 'PUT') return false;
    await this.kv.delete(name);
    return true;
  }

  list(): Definition[] {
    return [...this.known.values()];
  }

  get(name: string): Definition | undefined {
    return this.known.get(name);
  }
}
