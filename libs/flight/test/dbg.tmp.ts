import { FlightClient, FlightServer } from '../src/index.js';
import { fixtureTable } from './fixture.js';
const table = fixtureTable(3, 1000);
const server = new FlightServer({ async doGet() { return { schema: table.schema, batches: (function* () { yield table.batches[0]; throw new Error('boom'); })() }; } }, { port: 0 });
await server.start();
const client = new FlightClient(server.location);
const { flightService } = await import('../src/proto.js');
const { Client, credentials } = await import('@grpc/grpc-js');
const raw = new Client(server.location.slice(7), credentials.createInsecure());
const m = flightService.DoGet;
const call = raw.makeServerStreamRequest('/arrow.flight.protocol.FlightService/DoGet', m.requestSerialize, m.responseDeserialize, { ticket: Buffer.from('x') });
try { for await (const x of call as any) console.log('raw msg', x.dataHeader.length, x.dataBody.length); } catch (e) { console.log('raw err', (e as Error).message); }
const { batches } = await client.doGet('x');
try { for await (const b of batches) console.log('batch', b.numRows); } catch (e) { console.log('err', (e as Error).message); }
raw.close(); client.close(); await server.stop(10);
