export { HotStore, hotTableName, type HotSnapshot, type HotStoreOptions, type BlockHeights, type BlockLink, type DeletedRows } from './store.js';
export { encodeBinaryCopy, type EncodeOptions } from './copy-encode.js';
export { BinaryCopyDecoder } from './copy-decode.js';
