export { segmentKey, parseSegmentKey, segmentTicket, parseSegmentTicket, segmentTickets } from './naming.js';
export type { SegmentRange } from './naming.js';
export { spoolFlightHandlers } from './serve.js';
export { SegmentFetcher } from './fetch.js';
export type { SegmentLocation } from './fetch.js';
export { startSpoolReaper } from './reaper.js';
export { producerConfigShape, startProducer } from './producer.js';
export type { ProducerHost } from './producer.js';
