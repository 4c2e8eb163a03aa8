/**
 * Memory for data that lives for seconds, handed out again and again instead of allocated anew.
 *
 * V8 starts a full mark-compact each time the memory held by ArrayBuffers has grown by 64 MB since
 * the last one, and only a mark-compact frees buffers that outlived two scavenges. A service that
 * keeps hundreds of MB/s of received data for a second or two (the archiver until a flush) thus
 * marked its whole heap several times a second. Memory taken from an arena is allocated once, as
 * large slabs, and reused: the buffers' total stops growing, and so do those collections.
 *
 * A lease bump-allocates from slabs of its own and gives them all back at once on release, so
 * leases may end in any order. Past `maxBytes` of slabs, or for a request larger than a slab,
 * memory comes from a plain allocation, which the garbage collector frees as usual.
 */
export interface ArenaOptions {
  /** Slabs held at most, in bytes. */
  maxBytes: number;
  /** Size of one slab; default 8 MiB. */
  slabBytes?: number;
}

export interface ArenaUsage {
  /** Bytes of slabs allocated (in use or free). */
  slabBytes: number;
  /** Bytes of slabs held by leases. */
  leasedBytes: number;
  /** Bytes handed out as plain allocations because the arena was full or the request too large, since the start. */
  overflowBytes: number;
}

export interface ArenaLease {
  /**
   * `bytes` bytes, 8-byte aligned, valid until `release`. Their content is whatever the slab held
   * before: write before reading.
   */
  allocate(bytes: number): Uint8Array<ArrayBuffer>;
  /** Returns the lease's slabs to the arena; nothing allocated from it may be used afterwards. Idempotent. */
  release(): void;
}

const MiB = 1024 * 1024;
const ALIGNMENT = 8;

export class SlabArena {
  readonly slabSize: number;
  private readonly maxSlabs: number;
  private readonly free: ArrayBuffer[] = [];
  private slabs = 0;
  private leased = 0;
  private overflow = 0;

  constructor(options: ArenaOptions) {
    this.slabSize = options.slabBytes ?? 8 * MiB;
    if (!Number.isSafeInteger(this.slabSize) || this.slabSize < ALIGNMENT || this.slabSize % ALIGNMENT !== 0) {
      throw new Error(`slabBytes must be a positive multiple of ${ALIGNMENT}, got ${String(options.slabBytes)}`);
    }
    if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes < 0) {
      throw new Error(`maxBytes must be a non-negative integer, got ${String(options.maxBytes)}`);
    }
    this.maxSlabs = Math.floor(options.maxBytes / this.slabSize);
  }

  usage(): ArenaUsage {
    return { slabBytes: this.slabs * this.slabSize, leasedBytes: this.leased * this.slabSize, overflowBytes: this.overflow };
  }

  lease(): ArenaLease {
    const held: ArrayBuffer[] = [];
    let current: ArrayBuffer | null = null;
    let used = 0;
    let released = false;
    return {
      allocate: (bytes: number): Uint8Array<ArrayBuffer> => {
        if (released) throw new Error('allocate on a released arena lease');
        if (!Number.isSafeInteger(bytes) || bytes < 0) throw new Error(`cannot allocate ${String(bytes)} bytes`);
        if (bytes > this.slabSize) return this.plain(bytes);
        if (!current || used + bytes > this.slabSize) {
          current = this.takeSlab();
          if (!current) return this.plain(bytes);
          held.push(current);
          used = 0;
        }
        const view = new Uint8Array(current, used, bytes);
        used += Math.ceil(bytes / ALIGNMENT) * ALIGNMENT;
        return view;
      },
      release: (): void => {
        if (released) return;
        released = true;
        current = null;
        this.leased -= held.length;
        this.free.push(...held.splice(0));
      },
    };
  }

  private takeSlab(): ArrayBuffer | null {
    const slab = this.free.pop() ?? (this.slabs < this.maxSlabs ? (this.slabs++, new ArrayBuffer(this.slabSize)) : null);
    if (slab) this.leased++;
    return slab;
  }

  private plain(bytes: number): Uint8Array<ArrayBuffer> {
    this.overflow += bytes;
    return Buffer.allocUnsafeSlow(bytes);
  }
}
