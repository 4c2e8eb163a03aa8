export { FlightError, type FlightErrorCode } from './errors.js';
export type { ActionType, CallContext, DoGetResult, FlightDescriptor, FlightEndpoint, FlightHandlers, FlightInfo, HandshakeReply } from './types.js';
export { FlightServer, type FlightServerOptions } from './server.js';
export { FlightClient, type FlightClientOptions } from './client.js';
export type { MessageAllocator } from './http2-doget.js';
export { bearerTokenAuth } from './auth.js';
export { schemaFromIpc, schemaToIpc } from './ipc.js';
