// The chainlake CLI: manual compactor jobs, analytics definitions, and watching analytics results.
//   npm run chainlake -- compact hot-to-cold --dataset transactions --from 0 --to 9999
//   npm run chainlake -- compact merge --dataset transactions --dry-run
//   npm run chainlake -- define apps/analytics/definitions/examples.yaml
//   npm run chainlake -- drop gas_by_type
//   npm run chainlake -- watch tx_per_minute [--replay]
// NATS from CHAINLAKE_NATS_URL (default nats://127.0.0.1:4222), subjects under CHAINLAKE_PREFIX (default chainlake).
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { connect } from '@nats-io/transport-node';
import { jetstream, DeliverPolicy } from '@nats-io/jetstream';

const servers = (process.env.CHAINLAKE_NATS_URL ?? 'nats://127.0.0.1:4222').split(',');
const prefix = process.env.CHAINLAKE_PREFIX ?? 'chainlake';
const [command, ...args] = process.argv.slice(2);

function usage(): never {
  process.stderr.write(
    'usage: chainlake compact <job> [--name value …] | define <file> | drop <name> | watch <name> [--replay]\n' +
      '  jobs: hot-to-cold (--dataset --from --to [--chunk-size] [--delete-after-compact]), merge (--dataset [--dry-run] …), maintenance (--dataset [--dry-run] …)\n',
  );
  process.exit(64);
}

/** `--chunk-size 1000 --dry-run` → {chunk_size: 1000, dry_run: true}. */
function options(list: string[]): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (let i = 0; i < list.length; i++) {
    if (!list[i].startsWith('--')) usage();
    const name = list[i].slice(2).replaceAll('-', '_');
    const next = list[i + 1];
    if (next === undefined || next.startsWith('--')) out[name] = true;
    else {
      out[name] = /^-?\d+$/.test(next) ? Number(next) : next;
      i++;
    }
  }
  return out;
}

const nc = await connect({ servers, name: 'chainlake-cli' });
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const decode = (data: Uint8Array) => JSON.parse(new TextDecoder().decode(data)) as { ok?: boolean };

async function ask(subject: string, body: object, timeoutMs: number): Promise<boolean> {
  const started = Date.now();
  const ticker = process.stderr.isTTY ? setInterval(() => process.stderr.write(`\r${subject}: ${Math.round((Date.now() - started) / 1000)} s`), 1000) : undefined;
  try {
    const reply = decode((await nc.request(subject, encode({ v: 1, ...body }), { timeout: timeoutMs })).data);
    if (ticker) process.stderr.write('\n');
    process.stdout.write(`${JSON.stringify(reply, null, 2)}\n`);
    return reply.ok === true;
  } catch (err) {
    if (ticker) process.stderr.write('\n');
    const noService = (err as Error).message.includes('no responders');
    process.stderr.write(`${subject}: ${noService ? 'no service answers (is it running, with the same CHAINLAKE_PREFIX?)' : (err as Error).message}\n`);
    return false;
  } finally {
    clearInterval(ticker);
  }
}

let ok = true;
switch (command) {
  case 'compact': {
    const [job, ...rest] = args;
    if (!job) usage();
    ok = await ask(`${prefix}.control.compactor.${job}`, options(rest), 3_600_000);
    break;
  }
  case 'define': {
    if (!args[0]) usage();
    const text = await readFile(args[0], 'utf8');
    const parsed = args[0].endsWith('.json') ? JSON.parse(text) : parseYaml(text);
    const definitions: unknown[] = Array.isArray(parsed) ? parsed : (parsed?.definitions ?? [parsed]);
    for (const definition of definitions) ok = (await ask(`${prefix}.control.analytics.define`, { definition }, 10_000)) && ok;
    break;
  }
  case 'drop':
    if (!args[0]) usage();
    ok = await ask(`${prefix}.control.analytics.drop`, { name: args[0] }, 10_000);
    break;
  case 'watch': {
    if (!args[0]) usage();
    const subject = `${prefix}.analytics.${args[0]}`;
    const print = (data: Uint8Array) => process.stdout.write(`${new TextDecoder().decode(data)}\n`);
    process.on('SIGINT', () => void nc.drain().then(() => process.exit(0)));
    if (args.includes('--replay')) {
      const consumer = await jetstream(nc).consumers.get(`${prefix.toUpperCase()}_ANALYTICS`, { filter_subjects: [subject], deliver_policy: DeliverPolicy.All });
      for await (const msg of await consumer.consume()) print(msg.data);
    } else {
      for await (const msg of nc.subscribe(subject)) print(msg.data);
    }
    break;
  }
  default:
    usage();
}
await nc.drain();
process.exit(ok ? 0 : 1);
