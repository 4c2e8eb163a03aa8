/**
 * Windowed aggregation engine of the analytics service (pure: no I/O).
 *
 * - Event time is the dataset's timestamp column (or `eventTime`), in ms. The watermark is the
 *   highest event time added (rows the filter drops included), rolled back by `retract()`.
 * - Tumbling/sliding windows are epoch-aligned `[k·slide, k·slide + size)`; a session (per group)
 *   joins rows less than `gapMs` apart and ends at its last event + gap. A window fires once the
 *   watermark reaches its end; it then accepts late rows until the watermark passes
 *   end + allowedLatenessMs (each change re-emitted with revision + 1); rows for no window still
 *   open are dropped and counted in `lateRowsDropped`.
 * - Tumbling/sliding windows keep their rows in panes of gcd(size, slide) ms (window bounds must be
 *   whole ms): a row updates one pane, a window's result merges its panes when it fires. State
 *   stays per block until forget() so that retract() can drop blocks.
 * - A re-emission replaces the window's whole previous result set; a group emptied by a
 *   retraction is re-emitted with `rows: 0` (values null, counts 0).
 * - Values: count → number; sum over uint256 → exact decimal string, over int32/int64 → number
 *   (decimal string beyond ±2^53); avg/stddev (population, Welford + Chan merge) → number;
 *   min/max → number, uint256 as decimal string, timestamp as ISO; distinct_count → HyperLogLog
 *   p = 14 (standard error 0.81%) unless `exact`; percentile → value at rank ⌊p/100·(n−1)⌋, by
 *   DDSketch with relative accuracy 1% unless `exact`. Group values: int64 as decimal strings,
 *   timestamps as ISO, nulls as null.
 */
export type { AggregateFn, AggregateSpec, Definition, Filter, Scalar, WindowSpec } from './definition.js';
export { DefinitionError, parseDefinition, resultName } from './definition.js';
export type { GroupValue, WindowResult } from './aggregation.js';
export { Aggregation } from './aggregation.js';
export type { ResultValue } from './partials.js';
export { DDSketch, DDSKETCH_RELATIVE_ACCURACY, HyperLogLog, HLL_PRECISION, HLL_STANDARD_ERROR } from './sketches.js';
