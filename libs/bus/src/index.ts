export { connectBus, type Bus, type BusLog, type BusOptions } from './connect.js';
export { joinBus, type BusHost } from './join.js';
export { type Subjects, type StreamNames } from './subjects.js';
export { ensureStreams, deleteStreams } from './streams.js';
export { MessageError, jsonCodec, type Codec } from './codec.js';
export {
  RawSegmentMessage,
  TypedSegmentMessage,
  HeadMessage,
  ReorgMessage,
  ReproduceRequest,
  ReproduceReply,
  DeadLetterMessage,
  WindowResultMessage,
  WindowUpdateMessage,
  DefineRequest,
  DropRequest,
  DefinitionReply,
  CommitMessage,
  StoredMessage,
  type MessageOf,
  type RawSegment,
  type TypedSegment,
  type Head,
  type Reorg,
  type Reproduce,
  type ReproduceResult,
  type DeadLetter,
  type Commit,
  type Stored,
} from './messages.js';
export { publishDurable, publishCore } from './publish.js';
export { consumeDurable, type ConsumeOptions, type Delivery, type DurableConsumer } from './consumer.js';
export { consumerProgress, type ConsumerProgress } from './progress.js';
export { followSubject, type FollowOptions, type Following } from './follow.js';
export { checkpoints, keyValue, objectStore, type Checkpoints } from './checkpoints.js';
export { serveRequests, request, type RequestServer, type VersionedReply } from './requests.js';
