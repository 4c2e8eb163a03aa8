// Forgets everything the local mesh stored: the warehouse folder, the PostgreSQL schema (catalog and hot tables),
// and the NATS streams, KV buckets and object stores of the prefix. Used by `./tools/mesh.sh --reset`.
import { rm } from 'node:fs/promises';
import { connectBus, deleteStreams } from '@chainlake/bus';
import { connectPostgres } from '@chainlake/postgres';

const prefix = process.env.CHAINLAKE_PREFIX ?? 'chainlake';
const schema = process.env.CHAINLAKE_POSTGRES_SCHEMA ?? 'chainlake';

for (const dir of ['./data', process.env.CHAINLAKE_WAREHOUSE]) if (dir) await rm(dir, { recursive: true, force: true });
const pool = await connectPostgres({ url: process.env.CHAINLAKE_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres', schema });
await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
await pool.end();
const bus = await connectBus({ servers: process.env.CHAINLAKE_NATS_URL ?? 'nats://127.0.0.1:4222', prefix, name: 'chainlake-reset' });
await deleteStreams(bus);
await bus.drain();
process.stdout.write(`reset: warehouse, PostgreSQL schema "${schema}" and NATS prefix "${prefix}" cleared\n`);
