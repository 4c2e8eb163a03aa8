import { FlightError } from './errors.js';
import { schemaFromIpc, schemaToIpc } from './ipc.js';
import type { WireDescriptor, WireFlightInfo } from './proto.js';
import type { FlightDescriptor, FlightInfo } from './types.js';

export function descriptorToWire(descriptor: FlightDescriptor): WireDescriptor {
  if (descriptor.type !== 'PATH' && descriptor.type !== 'CMD') {
    throw FlightError.invalidArgument(`FlightDescriptor type must be PATH or CMD, got ${String(descriptor.type)}`);
  }
  return {
    type: descriptor.type,
    cmd: descriptor.type === 'CMD' ? (descriptor.cmd ?? Buffer.alloc(0)) : Buffer.alloc(0),
    path: descriptor.type === 'PATH' ? (descriptor.path ?? []) : [],
  };
}

export function descriptorFromWire(wire: WireDescriptor | null): FlightDescriptor {
  if (!wire) throw FlightError.invalidArgument('a FlightDescriptor is required');
  if (wire.type === 'PATH') return { type: 'PATH', path: wire.path };
  if (wire.type === 'CMD') return { type: 'CMD', cmd: wire.cmd };
  throw FlightError.invalidArgument(`FlightDescriptor type must be PATH or CMD, got ${wire.type}`);
}

export function flightInfoToWire(info: FlightInfo): WireFlightInfo {
  return {
    schema: schemaToIpc(info.schema),
    flightDescriptor: descriptorToWire(info.descriptor),
    endpoint: info.endpoints.map((endpoint) => ({
      ticket: { ticket: endpoint.ticket },
      location: endpoint.locations.map((uri) => ({ uri })),
    })),
    totalRecords: info.totalRecords,
    totalBytes: info.totalBytes,
    ordered: info.ordered ?? false,
    appMetadata: info.appMetadata ?? Buffer.alloc(0),
  };
}

export function flightInfoFromWire(wire: WireFlightInfo): FlightInfo {
  const info: FlightInfo = {
    schema: schemaFromIpc(wire.schema),
    descriptor: descriptorFromWire(wire.flightDescriptor),
    endpoints: wire.endpoint.map((endpoint) => ({
      ticket: endpoint.ticket?.ticket ?? Buffer.alloc(0),
      locations: endpoint.location.map((location) => location.uri),
    })),
    totalRecords: Number(wire.totalRecords),
    totalBytes: Number(wire.totalBytes),
    ordered: wire.ordered,
  };
  if (wire.appMetadata.byteLength > 0) info.appMetadata = wire.appMetadata;
  return info;
}
