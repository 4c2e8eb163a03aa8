import type { RecordBatch } from 'apache-arrow';
import type { DatasetDef } from '@chainlake/schema';
import { ColumnReader } from './columns.js';
import { datasetOf, resultName, type Definition } from './definition.js';
import { compileFilter, type CompiledFilter } from './filter.js';
import { aggKind, Partial, type AggKind, type ResultValue } from './partials.js';

export type GroupValue = string | number | boolean | null;

export interface WindowResult {
  definition: string;
  windowStart: string;
  windowEnd: string;
  group: Record<string, GroupValue>;
  values: Record<string, ResultValue>;
  rows: number;
  /** 1 on first emission, +1 on each re-emission. A re-emission replaces the window's whole previous result set. */
  revision: number;
}

interface GroupState {
  group: Record<string, GroupValue>;
  /** Rows of finalized blocks (at or below the forget() height). */
  merged: Partial;
  /** Rows of blocks that may still reorg, by block number. */
  blocks: Map<number, Partial>;
}

interface WindowState {
  start: number;
  /** Exclusive; for a session, its last event + gap. */
  end: number;
  groups: Map<string, GroupState>;
  revision: number;
  dirty: boolean;
  /** Group keys of the last emission, so that a group emptied by a retraction is re-emitted with rows 0. */
  emitted: string[];
}

const SNAPSHOT_VERSION = 1;

/**
 * A windowed aggregation over record batches of one dataset. Event time drives everything: the
 * watermark is the highest event time of the rows added, whether or not the filter keeps them
 * (rolled back by retract() to the highest surviving one); a window fires
 * once the watermark reaches its end and stays open for late rows until the watermark passes
 * end + allowedLatenessMs (Flink's allowed-lateness model).
 */
export class Aggregation {
  private readonly ds: DatasetDef;
  private readonly kinds: AggKind[];
  private readonly names: string[];
  private readonly filter: CompiledFilter | null;
  private readonly timeColumn: string;
  private readonly lateness: number;
  private readonly size: number;
  private readonly slide: number;
  private readonly gap: number;
  private readonly session: boolean;
  /** Tumbling/sliding windows by start; sessions by group key. */
  private windows = new Map<number, WindowState>();
  private sessions = new Map<string, WindowState[]>();
  private tombstones: WindowResult[] = [];
  private blockMaxTime = new Map<number, number>();
  private finalizedMaxTime = -Infinity;
  private finalizedHeight = -Infinity;
  private maxTime = -Infinity;
  private late = 0;

  constructor(readonly definition: Definition) {
    this.ds = datasetOf(definition);
    this.kinds = definition.aggregates.map((a) =>
      aggKind(a, a.column ? this.ds.columns.find((c) => c.name === a.column)!.type : null),
    );
    this.names = definition.aggregates.map(resultName);
    this.filter = definition.filter ? compileFilter(definition.filter, this.ds) : null;
    this.timeColumn = definition.eventTime ?? this.ds.timestampColumn;
    this.lateness = definition.allowedLatenessMs ?? 0;
    const w = definition.window;
    this.session = w.kind === 'session';
    this.size = w.kind === 'session' ? 0 : w.sizeMs;
    this.slide = w.kind === 'sliding' ? w.slideMs : w.kind === 'tumbling' ? w.sizeMs : 0;
    this.gap = w.kind === 'session' ? w.gapMs : 0;
  }

  get lateRowsDropped(): number {
    return this.late;
  }

  /** Highest event time (ms since epoch) of the rows added and not retracted; -Infinity before the first row. */
  get watermark(): number {
    return this.maxTime;
  }

  add(batch: RecordBatch): void {
    const n = batch.numRows;
    if (n === 0) return;
    const reader = (name: string) => ColumnReader.of(batch, name, this.ds.columns.find((c) => c.name === name)!.type);
    let keep: Uint8Array | null = null;
    if (this.filter) {
      keep = new Uint8Array(n);
      this.filter(batch, keep);
    }
    const time = reader(this.timeColumn);
    const block = reader(this.ds.blockColumn);
    const groupCols = (this.definition.groupBy ?? []).map(reader);
    const aggCols = this.definition.aggregates.map((a) => (a.column ? reader(a.column) : null));

    const times = new Float64Array(n);
    const blocks = new Float64Array(n);
    let lastBlock = NaN;
    let lastBlockMax = -Infinity;
    // Every row advances event time, including rows the filter drops: a rarely matching filter must not hold windows open.
    for (let i = 0; i < n; i++) {
      const t = Math.floor(time.float(i) / 1000);
      const b = block.float(i);
      times[i] = t;
      blocks[i] = b;
      if (b !== lastBlock) {
        this.noteBlockTime(lastBlock, lastBlockMax);
        lastBlock = b;
        lastBlockMax = t;
      } else if (t > lastBlockMax) lastBlockMax = t;
    }
    this.noteBlockTime(lastBlock, lastBlockMax);

    const groupKeys = new Array<string>(n);
    const groupKey = (i: number): string => {
      if (groupCols.length === 0) return '';
      let key = '';
      for (const c of groupCols) key += (c.isNull(i) ? '\u0001' : c.key(i)) + '\u0000';
      return key;
    };
    // The watermark advances row by row so that which rows count as too late does not depend on how rows were batched.
    const accepted = new Uint8Array(n);
    if (this.session) {
      let max = this.maxTime;
      for (let i = 0; i < n; i++) {
        const t = times[i];
        if (t > max) max = t;
        if (keep !== null && keep[i] === 0) continue;
        if (t + this.gap + this.lateness <= max) continue;
        accepted[i] = 1;
        const key = groupKey(i);
        const p = this.sessionPartial(key, t, blocks[i], groupCols, i);
        this.addRow(p, t, aggCols, i);
      }
      this.maxTime = max;
    } else {
      const lanes = Math.ceil(this.size / this.slide);
      const targets = new Array<Partial | null>(n);
      for (let lane = 0; lane < lanes; lane++) {
        let max = this.maxTime;
        let window: WindowState | undefined;
        for (let i = 0; i < n; i++) {
          targets[i] = null;
          const t = times[i];
          if (t > max) max = t;
          if (keep !== null && keep[i] === 0) continue;
          const start = (Math.floor(t / this.slide) - lane) * this.slide;
          const end = start + this.size;
          if (end <= t || end + this.lateness <= max) continue;
          accepted[i] = 1;
          if (window === undefined || window.start !== start) window = this.window(start, end);
          if (window.revision > 0) window.dirty = true;
          if (lane === 0 || groupKeys[i] === undefined) groupKeys[i] = groupKey(i);
          const p = this.blockPartial(window, groupKeys[i], blocks[i], groupCols, i);
          p.rows++;
          if (t < p.minTime) p.minTime = t;
          if (t > p.maxTime) p.maxTime = t;
          targets[i] = p;
        }
        if (lane === lanes - 1) this.maxTime = max;
        for (let a = 0; a < aggCols.length; a++) {
          const col = aggCols[a];
          if (col === null) {
            for (let i = 0; i < n; i++) targets[i]?.states[a].addRow(col!, i);
          } else if (col.hasNulls) {
            for (let i = 0; i < n; i++) {
              const p = targets[i];
              if (p != null && !col.isNull(i)) p.states[a].addRow(col, i);
            }
          } else {
            for (let i = 0; i < n; i++) targets[i]?.states[a].addRow(col, i);
          }
        }
      }
    }
    for (let i = 0; i < n; i++) if (accepted[i] === 0 && (keep === null || keep[i] === 1)) this.late++;
  }

  private noteBlockTime(b: number, t: number): void {
    if (Number.isNaN(b)) return;
    if (b <= this.finalizedHeight) {
      if (t > this.finalizedMaxTime) this.finalizedMaxTime = t;
      return;
    }
    const old = this.blockMaxTime.get(b);
    if (old === undefined || t > old) this.blockMaxTime.set(b, t);
  }

  private addRow(p: Partial, t: number, aggCols: (ColumnReader | null)[], i: number): void {
    p.rows++;
    if (t < p.minTime) p.minTime = t;
    if (t > p.maxTime) p.maxTime = t;
    for (let a = 0; a < aggCols.length; a++) {
      const col = aggCols[a];
      if (col === null || !col.isNull(i)) p.states[a].addRow(col!, i);
    }
  }

  private window(start: number, end: number): WindowState {
    let w = this.windows.get(start);
    if (!w) {
      w = { start, end, groups: new Map(), revision: 0, dirty: false, emitted: [] };
      this.windows.set(start, w);
    }
    return w;
  }

  private blockPartial(w: WindowState, key: string, block: number, groupCols: ColumnReader[], i: number): Partial {
    let g = w.groups.get(key);
    if (!g) {
      const group: Record<string, GroupValue> = {};
      for (const c of groupCols) group[c.name] = c.groupValue(i);
      g = { group, merged: Partial.create(this.kinds), blocks: new Map() };
      w.groups.set(key, g);
    }
    if (block <= this.finalizedHeight) return g.merged;
    let p = g.blocks.get(block);
    if (!p) {
      p = Partial.create(this.kinds);
      g.blocks.set(block, p);
    }
    return p;
  }

  /** The partial for a row of a session: joins, creates or merges sessions of its group. */
  private sessionPartial(key: string, t: number, block: number, groupCols: ColumnReader[], i: number): Partial {
    let list = this.sessions.get(key);
    if (!list) {
      list = [];
      this.sessions.set(key, list);
    }
    let target: WindowState | undefined;
    let touchingCount = 0;
    for (const s of list) {
      if (t > s.start - this.gap && t < s.end) {
        target = s;
        touchingCount++;
      }
    }
    if (target === undefined) {
      target = { start: t, end: t + this.gap, groups: new Map(), revision: 0, dirty: false, emitted: [] };
      list.push(target);
    } else if (touchingCount > 1) {
      const touching = list.filter((s) => t > s.start - this.gap && t < s.end);
      // Keep the identity (and revision) of the earliest-emitted session; the others are absorbed.
      touching.sort((a, b) => b.revision - a.revision || a.start - b.start);
      target = touching[0];
      for (const other of touching.slice(1)) {
        if (other.revision > 0) this.tombstones.push(this.tombstone(other));
        const g = other.groups.get(key)!;
        const into = target.groups.get(key)!;
        into.merged.merge(g.merged);
        for (const [b, p] of g.blocks) {
          const mine = into.blocks.get(b);
          if (mine) mine.merge(p);
          else into.blocks.set(b, p);
        }
        target.start = Math.min(target.start, other.start);
        target.end = Math.max(target.end, other.end);
        list.splice(list.indexOf(other), 1);
      }
    }
    if (target.revision > 0) target.dirty = true;
    target.start = Math.min(target.start, t);
    target.end = Math.max(target.end, t + this.gap);
    return this.blockPartial(target, key, block, groupCols, i);
  }

  private tombstone(w: WindowState): WindowResult {
    const g = [...w.groups.values()][0];
    return this.result(w, g, Partial.create(this.kinds), w.revision + 1);
  }

  private allWindows(): WindowState[] {
    const all = this.session ? [...this.sessions.values()].flat() : [...this.windows.values()];
    // Sessions of different groups may share bounds: their group key orders them.
    const first = (w: WindowState) => w.groups.keys().next().value ?? '';
    return all.sort((a, b) => a.end - b.end || a.start - b.start || cmp(first(a), first(b)));
  }

  private total(g: GroupState): Partial {
    const p = Partial.create(this.kinds);
    p.merge(g.merged);
    for (const b of g.blocks.values()) p.merge(b);
    return p;
  }

  private result(w: WindowState, g: GroupState, p: Partial, revision: number): WindowResult {
    const values: Record<string, ResultValue> = {};
    for (let a = 0; a < this.names.length; a++) values[this.names[a]] = p.states[a].result();
    return {
      definition: this.definition.name,
      windowStart: new Date(w.start).toISOString(),
      windowEnd: new Date(w.end).toISOString(),
      group: { ...g.group },
      values,
      rows: p.rows,
      revision,
    };
  }

  /** The window's results in emission order: top k by the topK aggregate if set, else by group key. */
  private results(w: WindowState, revision: number, includeEmitted: boolean): { results: WindowResult[]; keys: string[] } {
    let entries = [...w.groups].map(([key, g]) => ({ key, r: this.result(w, g, this.total(g), revision) }));
    entries = entries.filter((e) => e.r.rows > 0 || (includeEmitted && w.emitted.includes(e.key)));
    const topK = this.definition.topK;
    if (topK) {
      const sign = topK.order === 'asc' ? 1 : -1;
      entries.sort((x, y) => compareValues(x.r.values[topK.by], y.r.values[topK.by], sign) || cmp(x.key, y.key));
      entries = entries.filter((e) => e.r.rows > 0).slice(0, topK.k);
    } else entries.sort((x, y) => cmp(x.key, y.key));
    return { results: entries.map((e) => e.r), keys: entries.map((e) => e.key) };
  }

  fire(): WindowResult[] {
    const out: WindowResult[] = this.tombstones;
    this.tombstones = [];
    for (const w of this.allWindows()) {
      const due = w.revision === 0 ? this.maxTime >= w.end : w.dirty;
      if (!due) continue;
      const { results, keys } = this.results(w, w.revision + 1, w.revision > 0);
      w.dirty = false;
      if (results.length === 0 && w.revision === 0) continue;
      w.revision++;
      w.emitted = keys;
      out.push(...results);
    }
    this.collect();
    return out;
  }

  current(): WindowResult[] {
    return this.allWindows()
      .filter((w) => w.revision === 0)
      .flatMap((w) => this.results(w, 0, false).results);
  }

  retract(forkPoint: number): void {
    if (forkPoint < this.finalizedHeight) {
      throw new Error(
        `definition "${this.definition.name}": cannot retract to block ${forkPoint}, blocks up to ${this.finalizedHeight} are finalized`,
      );
    }
    for (const w of this.allWindows()) {
      let changed = false;
      for (const g of w.groups.values()) {
        for (const b of g.blocks.keys()) {
          if (b > forkPoint) {
            g.blocks.delete(b);
            changed = true;
          }
        }
      }
      if (!changed) continue;
      if (w.revision > 0) w.dirty = true;
      if (this.session) this.resplitSession(w);
    }
    for (const b of this.blockMaxTime.keys()) if (b > forkPoint) this.blockMaxTime.delete(b);
    let max = this.finalizedMaxTime;
    for (const t of this.blockMaxTime.values()) if (t > max) max = t;
    this.maxTime = max;
    this.dropEmptyUnemitted();
  }

  /** After a retraction a session may have lost the rows that joined its parts: rebuild it from its block partials. */
  private resplitSession(w: WindowState): void {
    const [key, g] = [...w.groups][0];
    const list = this.sessions.get(key)!;
    list.splice(list.indexOf(w), 1);
    const units: { block: number | null; p: Partial }[] = [...g.blocks].map(([block, p]) => ({ block, p }));
    if (g.merged.rows > 0) units.push({ block: null, p: g.merged });
    units.sort((a, b) => a.p.minTime - b.p.minTime);
    const parts: WindowState[] = [];
    for (const u of units) {
      let s = parts[parts.length - 1];
      if (!s || u.p.minTime >= s.end) {
        s = { start: u.p.minTime, end: u.p.maxTime + this.gap, groups: new Map(), revision: 0, dirty: false, emitted: [] };
        s.groups.set(key, { group: g.group, merged: Partial.create(this.kinds), blocks: new Map() });
        parts.push(s);
      }
      s.end = Math.max(s.end, u.p.maxTime + this.gap);
      const sg = s.groups.get(key)!;
      if (u.block === null) sg.merged = u.p;
      else sg.blocks.set(u.block, u.p);
    }
    if (w.revision > 0) {
      if (parts.length === 0) this.tombstones.push(this.tombstone(w));
      else Object.assign(parts[0], { revision: w.revision, dirty: true, emitted: w.emitted });
    }
    list.push(...parts);
  }

  private dropEmptyUnemitted(): void {
    const empty = (w: WindowState) => w.revision === 0 && [...w.groups.values()].every((g) => this.total(g).rows === 0);
    if (this.session) {
      for (const [key, list] of this.sessions) {
        const kept = list.filter((w) => !empty(w));
        if (kept.length === 0) this.sessions.delete(key);
        else this.sessions.set(key, kept);
      }
    } else for (const [start, w] of this.windows) if (empty(w)) this.windows.delete(start);
  }

  /** Merges the per-block partials of blocks at or below the finalized height and frees windows no longer needed. */
  forget(blocksAtOrBelow: number): void {
    if (blocksAtOrBelow <= this.finalizedHeight) return;
    this.finalizedHeight = blocksAtOrBelow;
    for (const w of this.allWindows()) {
      for (const g of w.groups.values()) {
        for (const [b, p] of g.blocks) {
          if (b <= blocksAtOrBelow) {
            if (g.merged.rows === 0) g.merged = p;
            else g.merged.merge(p);
            g.blocks.delete(b);
          }
        }
      }
    }
    for (const [b, t] of this.blockMaxTime) {
      if (b <= blocksAtOrBelow) {
        if (t > this.finalizedMaxTime) this.finalizedMaxTime = t;
        this.blockMaxTime.delete(b);
      }
    }
    this.collect();
  }

  /** Drops windows that are emitted, unchanged, finalized and past their allowed lateness. */
  private collect(): void {
    const done = (w: WindowState) =>
      w.revision > 0 &&
      !w.dirty &&
      w.end + this.lateness <= this.maxTime &&
      [...w.groups.values()].every((g) => g.blocks.size === 0);
    if (this.session) {
      for (const [key, list] of this.sessions) {
        const kept = list.filter((w) => !done(w));
        if (kept.length === 0) this.sessions.delete(key);
        else if (kept.length !== list.length) this.sessions.set(key, kept);
      }
    } else for (const [start, w] of this.windows) if (done(w)) this.windows.delete(start);
  }

  /** Number of windows (or sessions) held, and of per-block partials among them. */
  stats(): { windows: number; groups: number; blockPartials: number } {
    let groups = 0;
    let blockPartials = 0;
    const all = this.allWindows();
    for (const w of all) {
      groups += w.groups.size;
      for (const g of w.groups.values()) blockPartials += g.blocks.size;
    }
    return { windows: all.length, groups, blockPartials };
  }

  snapshot(): unknown {
    const windows = this.allWindows().map((w) => ({
      start: w.start,
      end: w.end,
      revision: w.revision,
      dirty: w.dirty,
      emitted: w.emitted,
      groups: [...w.groups].map(([key, g]) => ({
        key,
        group: g.group,
        merged: g.merged.toJSON(),
        blocks: [...g.blocks].map(([b, p]) => [b, p.toJSON()]),
      })),
    }));
    return {
      version: SNAPSHOT_VERSION,
      definition: this.definition.name,
      windows,
      tombstones: this.tombstones,
      blockMaxTime: [...this.blockMaxTime],
      finalizedMaxTime: finiteOrNull(this.finalizedMaxTime),
      finalizedHeight: finiteOrNull(this.finalizedHeight),
      maxTime: finiteOrNull(this.maxTime),
      late: this.late,
    };
  }

  static restore(definition: Definition, state: unknown): Aggregation {
    const s = state as SnapshotJson;
    if (s?.version !== SNAPSHOT_VERSION || s.definition !== definition.name) {
      throw new Error(`snapshot is not a version ${SNAPSHOT_VERSION} snapshot of definition "${definition.name}"`);
    }
    const agg = new Aggregation(definition);
    for (const wj of s.windows) {
      const w: WindowState = {
        start: wj.start,
        end: wj.end,
        revision: wj.revision,
        dirty: wj.dirty,
        emitted: wj.emitted,
        groups: new Map(),
      };
      for (const gj of wj.groups) {
        w.groups.set(gj.key, {
          group: gj.group,
          merged: Partial.restore(agg.kinds, gj.merged),
          blocks: new Map(gj.blocks.map(([b, p]) => [b, Partial.restore(agg.kinds, p)])),
        });
      }
      if (agg.session) {
        const key = wj.groups[0].key;
        const list = agg.sessions.get(key) ?? [];
        list.push(w);
        agg.sessions.set(key, list);
      } else agg.windows.set(w.start, w);
    }
    agg.tombstones = s.tombstones;
    agg.blockMaxTime = new Map(s.blockMaxTime);
    agg.finalizedMaxTime = s.finalizedMaxTime ?? -Infinity;
    agg.finalizedHeight = s.finalizedHeight ?? -Infinity;
    agg.maxTime = s.maxTime ?? -Infinity;
    agg.late = s.late;
    return agg;
  }
}

interface SnapshotJson {
  version: number;
  definition: string;
  windows: {
    start: number;
    end: number;
    revision: number;
    dirty: boolean;
    emitted: string[];
    groups: { key: string; group: Record<string, GroupValue>; merged: unknown; blocks: [number, unknown][] }[];
  }[];
  tombstones: WindowResult[];
  blockMaxTime: [number, number][];
  finalizedMaxTime: number | null;
  finalizedHeight: number | null;
  maxTime: number | null;
  late: number;
}

function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Orders aggregate values (numbers, or decimal strings of exact sums) by sign; nulls last. */
function compareValues(x: ResultValue, y: ResultValue, sign: number): number {
  if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
  const a = typeof x === 'string' && /^-?\d+$/.test(x) ? BigInt(x) : x;
  const b = typeof y === 'string' && /^-?\d+$/.test(y) ? BigInt(y) : y;
  return a < b ? -sign : a > b ? sign : 0;
}
