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
 * leases may end in any order. A request larger than a slab gets a block of its own, a whole
 * number of slabs long, reused by later requests of about the same size. Past `maxBytes`, free
 * blocks of other sizes are dropped to make room, and when that is not enough memory comes from a
 * plain allocation, which the garbage collector frees as usual.
 */
export interface ArenaOptions {
  /** Slabs and blocks held at most, in bytes. */
  maxBytes: number;
  /** Size of one slab; default 8 MiB. */
  slabBytes?: number;
}

export interface ArenaUsage {
  /** Bytes of slabs and blocks allocated (in use or free). */
  slabBytes: number;
  /** Bytes of slabs and blocks held by leases. */
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
  private readonly slabSize: number;
  private readonly maxBytes: number;
  /** Free blocks by size: slabs, and the larger blocks of requests larger than a slab. */
  private readonly free = new Map<number, ArrayBuffer[]>();
  private totalBytes = 0;
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
    this.maxBytes = options.maxBytes;
  }

  usage(): ArenaUsage {
    return { slabBytes: this.totalBytes, leasedBytes: this.leased, overflowBytes: this.overflow };
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
        if (bytes > this.slabSize) {
          const block = this.take(Math.ceil(bytes / this.slabSize) * this.slabSize);
          if (!block) return this.plain(bytes);
          held.push(block);
          return new Uint8Array(block, 0, bytes);
        }
        const size = Math.ceil(bytes / ALIGNMENT) * ALIGNMENT;
        if (current && used + size <= this.slabSize) {
          const view = new Uint8Array(current, used, bytes);
          used += size;
          return view;
        }
        const slab = this.take(this.slabSize);
        if (!slab) return this.plain(bytes);
        held.push(slab);
        // Bump on in whichever slab has more room left (the new one if this request is smaller
        // than what the current one holds): a large request after small ones does not strand
        // the rest of the current slab.
        if (!current || size < used) {
          current = slab;
          used = size;
        }
        return new Uint8Array(slab, 0, bytes);
      },
      release: (): void => {
        if (released) return;
        released = true;
        current = null;
        for (const block of held.splice(0)) this.giveBack(block);
      },
    };
  }

  private take(size: number): ArrayBuffer | null {
    let block = this.free.get(size)?.pop() ?? this.freeBlockAbout(size);
    if (!block) {
      this.dropFreeBlocksFor(size);
      if (this.totalBytes + size > this.maxBytes) return null;
      block = new ArrayBuffer(size);
      this.totalBytes += size;
    }
    this.leased += block.byteLength;
    return block;
  }

  /**
   * A free block of up to a quarter more than `size`: requests larger than a slab vary in size
   * (a column of each segment), and a block only ever reused by its exact size would leave the
   * others to be dropped and allocated again.
   */
  private freeBlockAbout(size: number): ArrayBuffer | undefined {
    if (size <= this.slabSize) return undefined;
    let best: number | undefined;
    for (const [blockSize, blocks] of this.free) {
      if (blocks.length > 0 && blockSize > size && blockSize <= size * 1.25 && (best === undefined || blockSize < best)) best = blockSize;
    }
    return best === undefined ? undefined : this.free.get(best)!.pop();
  }

  private giveBack(block: ArrayBuffer): void {
    this.leased -= block.byteLength;
    const sameSize = this.free.get(block.byteLength);
    if (sameSize) sameSize.push(block);
    else this.free.set(block.byteLength, [block]);
  }

  /** Drops free blocks (the garbage collector takes them) until `size` more fits under maxBytes. */
  private dropFreeBlocksFor(size: number): void {
    for (const [blockSize, blocks] of this.free) {
      while (blocks.length > 0 && this.totalBytes + size > this.maxBytes) {
        blocks.pop();
        this.totalBytes -= blockSize;
      }
      if (this.totalBytes + size <= this.maxBytes) return;
    }
  }

  private plain(bytes: number): Uint8Array<ArrayBuffer> {
    this.overflow += bytes;
    return Buffer.allocUnsafeSlow(bytes);
  }
}
