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
  /** Rows added or retracted since the last early(): only such open windows get an early result. */
  changed: boolean;
  /** A session's group key ('' for tumbling/sliding windows, which hold every group). */
  key: string;
  /** Group keys of the last emission, so that a group emptied by a retraction is re-emitted with rows 0. */
  emitted: string[];
}

/**
 * The rows of one slice of a tumbling/sliding window's time axis, `[start, start + pane size)` with
 * pane size = gcd(size, slide): each row updates one pane, and a window's result merges its panes.
 * A row that arrives when some windows containing it are already past their lateness lands in a
 * pane visible only from the first window still open (`visibleFrom`); a pane restored from a
 * snapshot belongs to exactly one window (`only`), since a window's restored partials cannot be
 * split into panes.
 */
interface Pane {
  start: number;
  visibleFrom: number;
  only: number | null;
  groups: Map<string, GroupState>;
  /** Each group's partial over the pane's rows, kept for the next windows holding the pane until a row is added or retracted. */
  totals: Map<string, Total> | null;
}

/** A group's partial over some rows; read only unless `owned` (else it may be one of the state's own partials). */
interface Total {
  group: Record<string, GroupValue>;
  p: Partial;
  owned: boolean;
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
  private readonly paneSize: number;
  private readonly session: boolean;
  /** Tumbling/sliding windows by start (their rows are in `panes`); sessions by group key. */
  private windows = new Map<number, WindowState>();
  private panes: Pane[] = [];
  private sessions = new Map<string, WindowState[]>();
  private tombstones: WindowResult[] = [];
  private blockMaxTime = new Map<number, number>();
  private finalizedMaxTime = -Infinity;
  private finalizedHeight = -Infinity;
  private maxTime = -Infinity;
  private late = 0;
  /** Group keys of recent rows by the hash of their bytes (see {@link ColumnReader.internedKey}). */
  private interned = new Map<number, string>();
  /** ISO strings of recent window bounds: sessions of many groups share them. */
  private isoCache = new Map<number, string>();
  /** Where a result merges the partials of several panes or blocks (see {@link combine}). */
  private readonly scratch: Partial;

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
    if (!Number.isSafeInteger(this.size) || !Number.isSafeInteger(this.slide)) {
      throw new Error(`definition "${definition.name}": window size and slide must be whole milliseconds`);
    }
    this.paneSize = this.session ? 0 : gcd(this.size, this.slide);
    this.scratch = Partial.create(this.kinds);
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

    const single = groupCols.length === 1 ? groupCols[0] : null;
    const text = single !== null && (single.type === 'hex' || single.type === 'string');
    const groupKey = (i: number): string => {
      if (single !== null) {
        if (single.isNull(i)) return '\u0001\u0000';
        return text ? single.internedKey(i, '\u0000', this.interned) : single.key(i) + '\u0000';
      }
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
      const { size, slide, lateness, paneSize } = this;
      const targets = new Array<Partial | null>(n).fill(null);
      let max = this.maxTime;
      let pane: Pane | null = null;
      let paneStart = NaN;
      let paneFrom = NaN;
      for (let i = 0; i < n; i++) {
        const t = times[i];
        if (t > max) max = t;
        if (keep !== null && keep[i] === 0) continue;
        const last = Math.floor(t / slide) * slide;
        // The windows still open contain t (start > t − size) and are within their lateness (start > max − lateness − size).
        const from = (Math.floor((Math.max(t, max - lateness) - size) / slide) + 1) * slide;
        if (from > last) continue;
        accepted[i] = 1;
        const start = Math.floor(t / paneSize) * paneSize;
        if (pane === null || start !== paneStart || from !== paneFrom) {
          pane = this.pane(start, from);
          pane.totals = null;
          paneStart = start;
          paneFrom = from;
          for (let s = from; s <= last; s += slide) {
            const w = this.window(s, s + size);
            w.changed = true;
            if (w.revision > 0) w.dirty = true;
          }
        }
        const p = this.blockPartial(pane.groups, groupKey(i), blocks[i], groupCols, i);
        p.rows++;
        if (t < p.minTime) p.minTime = t;
        if (t > p.maxTime) p.maxTime = t;
        targets[i] = p;
      }
      this.maxTime = max;
      for (let a = 0; a < aggCols.length; a++) {
        const col = aggCols[a];
        if (col === null) {
          for (let i = 0; i < n; i++) targets[i]?.states[a].addRow(col!, i);
        } else if (col.hasNulls) {
          for (let i = 0; i < n; i++) {
            const p = targets[i];
            if (p !== null && !col.isNull(i)) p.states[a].addRow(col, i);
          }
        } else {
          for (let i = 0; i < n; i++) targets[i]?.states[a].addRow(col, i);
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
      w = { start, end, groups: new Map(), revision: 0, dirty: false, changed: true, key: '', emitted: [] };
      this.windows.set(start, w);
    }
    return w;
  }

  /** The pane at `start` for rows visible from the window at `from` on. */
  private pane(start: number, from: number): Pane {
    // The first window containing the pane: rows visible from it are visible to all.
    const first = (Math.floor((start - this.size) / this.slide) + 1) * this.slide;
    const visibleFrom = from <= first ? -Infinity : from;
    let pane = this.panes.find((p) => p.start === start && p.visibleFrom === visibleFrom && p.only === null);
    if (!pane) {
      pane = { start, visibleFrom, only: null, groups: new Map(), totals: null };
      this.panes.push(pane);
    }
    return pane;
  }

  private inWindow(p: Pane, w: WindowState): boolean {
    return p.only === null ? p.start >= w.start && p.start < w.end && p.visibleFrom <= w.start : p.only === w.start;
  }

  private panesOf(w: WindowState): Pane[] {
    return this.panes.filter((p) => this.inWindow(p, w));
  }

  private blockPartial(groups: Map<string, GroupState>, key: string, block: number, groupCols: ColumnReader[], i: number): Partial {
    let g = groups.get(key);
    if (!g) {
      const group: Record<string, GroupValue> = {};
      for (const c of groupCols) group[c.name] = c.groupValue(i);
      g = { group, merged: Partial.create(this.kinds), blocks: new Map() };
      groups.set(key, g);
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
      target = { start: t, end: t + this.gap, groups: new Map(), revision: 0, dirty: false, changed: true, key, emitted: [] };
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
    target.changed = true;
    if (target.revision > 0) target.dirty = true;
    target.start = Math.min(target.start, t);
    target.end = Math.max(target.end, t + this.gap);
    return this.blockPartial(target.groups, key, block, groupCols, i);
  }

  private tombstone(w: WindowState): WindowResult {
    const g = [...w.groups.values()][0];
    return this.result(w, g.group, Partial.create(this.kinds), w.revision + 1);
  }

  private allWindows(): WindowState[] {
    return this.ordered(this.session ? [...this.sessions.values()].flat() : [...this.windows.values()]);
  }

  private ordered(ws: WindowState[]): WindowState[] {
    // Sessions of different groups may share bounds: their group key orders them.
    return ws.sort((a, b) => a.end - b.end || a.start - b.start || cmp(a.key, b.key));
  }

  /** The group states holding a window's rows: a session's own, or those of the panes of a tumbling/sliding window. */
  private groupMaps(w: WindowState): Map<string, GroupState>[] {
    return this.session ? [w.groups] : this.panesOf(w).map((p) => p.groups);
  }

  /** Each group's partials over a tumbling/sliding window's rows, one per pane holding the group (merged only when a result is read). */
  private groupParts(w: WindowState): Map<string, { group: Record<string, GroupValue>; parts: Partial[]; rows: number }> {
    const out = new Map<string, { group: Record<string, GroupValue>; parts: Partial[]; rows: number }>();
    for (const pane of this.panesOf(w)) {
      pane.totals ??= this.paneTotals(pane);
      for (const [key, t] of pane.totals) {
        const e = out.get(key);
        if (e) {
          e.parts.push(t.p);
          e.rows += t.p.rows;
        } else out.set(key, { group: t.group, parts: [t.p], rows: t.p.rows });
      }
    }
    return out;
  }

  private paneTotals(pane: Pane): Map<string, Total> {
    const out = new Map<string, Total>();
    for (const [key, g] of pane.groups) {
      const e: Total = { group: g.group, p: g.merged, owned: false };
      for (const b of g.blocks.values()) this.addTo(e, b);
      out.set(key, e);
    }
    return out;
  }

  /** Merges p into the total, copying the total's partial first unless it owns it. */
  private addTo(e: Total, p: Partial): void {
    if (p.rows === 0) return;
    if (e.p.rows === 0) {
      e.p = p;
      e.owned = false;
      return;
    }
    if (!e.owned) {
      const copy = Partial.create(this.kinds);
      copy.merge(e.p);
      e.p = copy;
      e.owned = true;
    }
    e.p.merge(p);
  }

  private rowCount(w: WindowState): number {
    let rows = 0;
    for (const groups of this.groupMaps(w)) {
      for (const g of groups.values()) {
        rows += g.merged.rows;
        for (const b of g.blocks.values()) rows += b.rows;
      }
    }
    return rows;
  }

  private result(w: WindowState, group: Record<string, GroupValue>, p: Partial, revision: number, bounds = this.isoBounds(w)): WindowResult {
    const values: Record<string, ResultValue> = {};
    for (let a = 0; a < this.names.length; a++) values[this.names[a]] = p.states[a].result();
    return {
      definition: this.definition.name,
      windowStart: bounds[0],
      windowEnd: bounds[1],
      group,
      values,
      rows: p.rows,
      revision,
    };
  }

  private isoBounds(w: WindowState): [string, string] {
    return [this.iso(w.start), this.iso(w.end)];
  }

  private iso(ms: number): string {
    let s = this.isoCache.get(ms);
    if (s === undefined) {
      if (this.isoCache.size >= 4096) this.isoCache.clear();
      s = new Date(ms).toISOString();
      this.isoCache.set(ms, s);
    }
    return s;
  }

  /** The window's results in emission order: top k by the topK aggregate if set, else by group key. */
  private results(w: WindowState, revision: number, includeEmitted: boolean): { results: WindowResult[]; keys: string[] } {
    const bounds = this.isoBounds(w);
    const topK = this.definition.topK;
    if (this.session) {
      // A session has one group.
      const [key, g] = w.groups.entries().next().value!;
      const p = this.combine([g.merged, ...g.blocks.values()]);
      if (p.rows === 0 && (topK !== undefined || !includeEmitted || !w.emitted.includes(key))) return { results: [], keys: [] };
      return { results: [this.result(w, g.group, p, revision, bounds)], keys: [key] };
    }
    let entries = [...this.groupParts(w)].map(([key, e]) => ({ key, ...e }));
    if (topK) {
      // Only the k emitted groups need their other aggregates computed.
      const by = this.names.indexOf(topK.by);
      const sign = topK.order === 'asc' ? 1 : -1;
      const ranked = entries.filter((e) => e.rows > 0).map((e) => ({ e, v: sortable(this.combine(e.parts).states[by].result()) }));
      ranked.sort((x, y) => compareSortable(x.v, y.v, sign) || cmp(x.e.key, y.e.key));
      entries = ranked.slice(0, topK.k).map((x) => x.e);
    } else {
      const emitted = includeEmitted ? new Set(w.emitted) : null;
      entries = entries.filter((e) => e.rows > 0 || emitted?.has(e.key));
      entries.sort((x, y) => cmp(x.key, y.key));
    }
    return { results: entries.map((e) => this.result(w, e.group, this.combine(e.parts), revision, bounds)), keys: entries.map((e) => e.key) };
  }

  /**
   * The partial over all the given partials' rows: the only non-empty one itself, else their merge
   * into the scratch partial, valid until the next call (results are read from it at once).
   */
  private combine(parts: readonly Partial[]): Partial {
    let only: Partial | null = null;
    let nonEmpty = 0;
    for (const p of parts) {
      if (p.rows > 0) {
        only = p;
        nonEmpty++;
      }
    }
    if (nonEmpty === 1) return only!;
    const scratch = this.scratch;
    scratch.reset();
    if (nonEmpty > 1) for (const p of parts) if (p.rows > 0) scratch.merge(p);
    return scratch;
  }

  private held(): WindowState[] {
    return this.session ? [...this.sessions.values()].flat() : [...this.windows.values()];
  }

  fire(): WindowResult[] {
    const out: WindowResult[] = this.tombstones;
    this.tombstones = [];
    const due = this.held().filter((w) => (w.revision === 0 ? this.maxTime >= w.end : w.dirty));
    for (const w of this.ordered(due)) {
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
    return this.ordered(this.held().filter((w) => w.revision === 0)).flatMap((w) => this.results(w, 0, false).results);
  }

  /**
   * Early results: the current partial results (revision 0) of the windows still open (the
   * watermark below their end) whose rows changed since the previous call. A window's final
   * result, when it fires, replaces them.
   */
  early(): WindowResult[] {
    const changed = this.held().filter((w) => w.revision === 0 && w.changed && this.maxTime < w.end);
    for (const w of changed) w.changed = false;
    return this.ordered(changed).flatMap((w) => this.results(w, 0, false).results);
  }

  retract(forkPoint: number): void {
    if (forkPoint < this.finalizedHeight) {
      throw new Error(
        `definition "${this.definition.name}": cannot retract to block ${forkPoint}, blocks up to ${this.finalizedHeight} are finalized`,
      );
    }
    const dropBlocks = (groups: Map<string, GroupState>): boolean => {
      let changed = false;
      for (const g of groups.values()) {
        for (const b of g.blocks.keys()) {
          if (b > forkPoint) {
            g.blocks.delete(b);
            changed = true;
          }
        }
      }
      return changed;
    };
    if (this.session) {
      for (const w of this.allWindows()) {
        if (!dropBlocks(w.groups)) continue;
        if (w.revision > 0) w.dirty = true;
        this.resplitSession(w);
      }
    } else {
      for (const p of this.panes) {
        if (!dropBlocks(p.groups)) continue;
        p.totals = null;
        for (const w of this.windows.values()) {
          if (!this.inWindow(p, w)) continue;
          w.changed = true;
          if (w.revision > 0) w.dirty = true;
        }
      }
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
        s = { start: u.p.minTime, end: u.p.maxTime + this.gap, groups: new Map(), revision: 0, dirty: false, changed: true, key, emitted: [] };
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
    const empty = (w: WindowState) => w.revision === 0 && this.rowCount(w) === 0;
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
    const finalize = (g: GroupState) => {
      if (g.blocks.size === 0) return;
      for (const [b, p] of g.blocks) {
        if (b <= blocksAtOrBelow) {
          if (g.merged.rows === 0) g.merged = p;
          else g.merged.merge(p);
          g.blocks.delete(b);
        }
      }
    };
    if (this.session) {
      for (const [key, list] of this.sessions) for (const w of list) finalize(w.groups.get(key)!);
    } else for (const p of this.panes) for (const g of p.groups.values()) finalize(g);
    for (const [b, t] of this.blockMaxTime) {
      if (b <= blocksAtOrBelow) {
        if (t > this.finalizedMaxTime) this.finalizedMaxTime = t;
        this.blockMaxTime.delete(b);
      }
    }
    this.collect();
  }

  /** Drops windows that are emitted, unchanged, finalized and past their allowed lateness, and panes no window needs. */
  private collect(): void {
    const finalized = (groups: Map<string, GroupState>) => {
      for (const g of groups.values()) if (g.blocks.size > 0) return false;
      return true;
    };
    const closed = (w: WindowState) => w.revision > 0 && !w.dirty && w.end + this.lateness <= this.maxTime;
    if (this.session) {
      for (const [key, list] of this.sessions) {
        const done = (w: WindowState) => closed(w) && w.groups.get(key)!.blocks.size === 0;
        if (!list.some(done)) continue;
        const kept = list.filter((w) => !done(w));
        if (kept.length === 0) this.sessions.delete(key);
        else this.sessions.set(key, kept);
      }
      return;
    }
    const done = (w: WindowState) => closed(w) && this.groupMaps(w).every(finalized);
    for (const [start, w] of this.windows) if (done(w)) this.windows.delete(start);
    // A pane is needed while a window holding it is, or while a window containing it may still take rows.
    const lastEnd = (p: Pane) => Math.floor(p.start / this.slide) * this.slide + this.size;
    this.panes = this.panes.filter((p) =>
      p.only !== null
        ? this.windows.has(p.only)
        : !finalized(p.groups) ||
          lastEnd(p) + this.lateness > this.maxTime ||
          [...this.windows.values()].some((w) => this.inWindow(p, w)),
    );
  }

  /** Number of windows (or sessions) held, and of group partials and per-block partials among them (for tumbling/sliding windows: in their panes). */
  stats(): { windows: number; groups: number; blockPartials: number } {
    let groups = 0;
    let blockPartials = 0;
    const all = this.held();
    for (const map of this.session ? all.map((w) => w.groups) : this.panes.map((p) => p.groups)) {
      groups += map.size;
      for (const g of map.values()) blockPartials += g.blocks.size;
    }
    return { windows: all.length, groups, blockPartials };
  }

  /** The state as plain JSON-able data that shares nothing mutable with the engine: it may be serialized while rows keep coming. */
  snapshot(): unknown {
    const groupsJson = (groups: Map<string, GroupState>) =>
      [...groups].map(([key, g]) => ({
        key,
        group: g.group,
        merged: g.merged.toJSON(),
        blocks: [...g.blocks].map(([b, p]) => [b, p.toJSON()]),
      }));
    const windows = this.allWindows().map((w) => ({
      start: w.start,
      end: w.end,
      revision: w.revision,
      dirty: w.dirty,
      emitted: w.emitted,
      // Tumbling/sliding windows also list their rows merged, so that a reader without panes can restore them.
      groups: groupsJson(this.session ? w.groups : this.materialize(w)),
    }));
    return {
      version: SNAPSHOT_VERSION,
      definition: this.definition.name,
      windows,
      ...(this.session
        ? {}
        : {
            panes: this.panes.map((p) => ({
              start: p.start,
              visibleFrom: finiteOrNull(p.visibleFrom),
              only: p.only,
              groups: groupsJson(p.groups),
            })),
          }),
      tombstones: [...this.tombstones],
      blockMaxTime: [...this.blockMaxTime],
      finalizedMaxTime: finiteOrNull(this.finalizedMaxTime),
      finalizedHeight: finiteOrNull(this.finalizedHeight),
      maxTime: finiteOrNull(this.maxTime),
      late: this.late,
    };
  }

  /** A window's group states merged over its panes (finalized rows, and each block's rows). */
  private materialize(w: WindowState): Map<string, GroupState> {
    const out = new Map<string, GroupState>();
    for (const groups of this.groupMaps(w)) {
      for (const [key, g] of groups) {
        let m = out.get(key);
        if (!m) {
          m = { group: g.group, merged: Partial.create(this.kinds), blocks: new Map() };
          out.set(key, m);
        }
        m.merged.merge(g.merged);
        for (const [b, p] of g.blocks) {
          let mb = m.blocks.get(b);
          if (!mb) {
            mb = Partial.create(this.kinds);
            m.blocks.set(b, mb);
          }
          mb.merge(p);
        }
      }
    }
    return out;
  }

  static restore(definition: Definition, state: unknown): Aggregation {
    const s = state as SnapshotJson;
    if (s?.version !== SNAPSHOT_VERSION || s.definition !== definition.name) {
      throw new Error(`snapshot is not a version ${SNAPSHOT_VERSION} snapshot of definition "${definition.name}"`);
    }
    const agg = new Aggregation(definition);
    const groups = (list: GroupJson[]): Map<string, GroupState> =>
      new Map(
        list.map((gj) => [
          gj.key,
          {
            group: gj.group,
            merged: Partial.restore(agg.kinds, gj.merged),
            blocks: new Map(gj.blocks.map(([b, p]) => [b, Partial.restore(agg.kinds, p)])),
          },
        ]),
      );
    for (const wj of s.windows) {
      const w: WindowState = {
        start: wj.start,
        end: wj.end,
        revision: wj.revision,
        dirty: wj.dirty,
        emitted: wj.emitted,
        changed: wj.revision === 0,
        key: agg.session ? wj.groups[0].key : '',
        groups: new Map(),
      };
      if (agg.session) {
        w.groups = groups(wj.groups);
        const key = w.key;
        const list = agg.sessions.get(key) ?? [];
        list.push(w);
        agg.sessions.set(key, list);
      } else {
        agg.windows.set(w.start, w);
        // A snapshot without panes: each window keeps its own rows.
        if (s.panes === undefined) agg.panes.push({ start: w.start, visibleFrom: w.start, only: w.start, groups: groups(wj.groups), totals: null });
      }
    }
    for (const pj of s.panes ?? []) {
      agg.panes.push({
        start: pj.start,
        visibleFrom: pj.visibleFrom ?? -Infinity,
        only: pj.only,
        groups: groups(pj.groups),
        totals: null,
      });
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

interface GroupJson {
  key: string;
  group: Record<string, GroupValue>;
  merged: unknown;
  blocks: [number, unknown][];
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
    groups: GroupJson[];
  }[];
  /** Tumbling/sliding windows' panes; absent in snapshots written before panes. */
  panes?: { start: number; visibleFrom: number | null; only: number | null; groups: GroupJson[] }[];
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

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Orders aggregate values (numbers, or bigints of exact sums) by sign; nulls last. */
function compareSortable(a: number | bigint | string | null, b: number | bigint | string | null, sign: number): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
  return a < b ? -sign : a > b ? sign : 0;
}

/** An aggregate value in the form that orders it: exact sums as decimal strings become bigints. */
function sortable(x: ResultValue): number | bigint | string | null {
  return typeof x === 'string' && /^-?\d+$/.test(x) ? BigInt(x) : x;
}
