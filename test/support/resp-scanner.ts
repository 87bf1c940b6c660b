/**
 * An incremental scanner of the RESP byte stream a Redis server sends (RESP2 and the RESP3 types).
 * It does not decode values: it only finds where each top-level frame ends, which is all the TCP
 * proxy needs to drop exactly one reply.
 *
 * Limitations: RESP3 streamed strings and aggregates (`$?`, `*?`) are not supported; a RESP3
 * attribute (`|`) is treated as a prefix of the frame that follows it (as the protocol says).
 */

/** Kind of a complete top-level frame. */
export type RespFrameKind = 'reply' | 'push';

/** A top-level frame that ended inside the chunk given to {@link RespScanner.feed}. */
export interface RespFrameEnd {
  /** Offset just past the frame's last byte, relative to the chunk. */
  end: number;
  /** `push` for RESP3 out-of-band pushes (`>`), `reply` otherwise. */
  kind: RespFrameKind;
}

const CR = 0x0d;
const LF = 0x0a;

/** Types whose whole value is the header line. */
const LINE_TYPES = new Set(['+', '-', ':', ',', '_', '#', '(']);
/** Types whose header is a byte length followed by that many bytes and CRLF. */
const BULK_TYPES = new Set(['$', '!', '=']);
/** Aggregates with one element per count. */
const ARRAY_TYPES = new Set(['*', '~', '>']);
/** Aggregates with two elements (key and value) per count. */
const MAP_TYPES = new Set(['%', '|']);

/** Finds top-level frame boundaries in a RESP stream fed chunk by chunk. */
export class RespScanner {
  private mode: 'type' | 'line' | 'bulk' = 'type';
  private type = '';
  private header = '';
  private bulkRemaining = 0;
  /** Remaining element counts of the open aggregates, innermost last. */
  private readonly open: number[] = [];
  /** Type of the outermost frame being read. */
  private topType = '';

  /** True when the bytes fed so far end exactly at a frame boundary. */
  get atBoundary(): boolean {
    return this.mode === 'type' && this.open.length === 0;
  }

  /**
   * Consumes `chunk` and returns the frames that ended in it, in order.
   * @throws Error on a byte that cannot start a RESP value (the stream is not RESP).
   */
  feed(chunk: Uint8Array): RespFrameEnd[] {
    const ends: RespFrameEnd[] = [];
    let i = 0;
    while (i < chunk.length) {
      if (this.mode === 'bulk') {
        const take = Math.min(this.bulkRemaining, chunk.length - i);
        this.bulkRemaining -= take;
        i += take;
        if (this.bulkRemaining === 0) this.valueDone(ends, i);
        continue;
      }
      const byte = chunk[i] as number;
      i += 1;
      if (this.mode === 'type') {
        const type = String.fromCharCode(byte);
        if (!LINE_TYPES.has(type) && !BULK_TYPES.has(type) && !ARRAY_TYPES.has(type) && !MAP_TYPES.has(type)) {
          throw new Error(`Not a RESP stream: unexpected type byte 0x${byte.toString(16)}`);
        }
        if (this.open.length === 0) this.topType = type;
        this.type = type;
        this.header = '';
        this.mode = 'line';
        continue;
      }
      // mode === 'line': read the header up to CRLF (the CR is dropped, the LF ends it).
      if (byte === LF) {
        this.headerDone(ends, i);
      } else if (byte !== CR) {
        // Only numeric headers are needed; cap the length kept for simple strings.
        if (this.header.length < 32) this.header += String.fromCharCode(byte);
      }
    }
    return ends;
  }

  private headerDone(ends: RespFrameEnd[], offset: number): void {
    const type = this.type;
    this.mode = 'type';
    if (LINE_TYPES.has(type)) {
      this.valueDone(ends, offset);
      return;
    }
    if (this.header === '?') throw new Error('RESP3 streamed values are not supported');
    const count = Number.parseInt(this.header, 10);
    if (Number.isNaN(count)) throw new Error(`Not a RESP stream: bad length "${this.header}"`);
    if (BULK_TYPES.has(type)) {
      if (count < 0) {
        this.valueDone(ends, offset);
      } else {
        this.mode = 'bulk';
        this.bulkRemaining = count + 2;
      }
      return;
    }
    const elements = MAP_TYPES.has(type) ? count * 2 : count;
    if (elements <= 0) {
      this.valueDone(ends, offset);
    } else {
      this.open.push(elements);
    }
  }

  private valueDone(ends: RespFrameEnd[], offset: number): void {
    this.mode = 'type';
    while (this.open.length > 0) {
      const last = this.open.length - 1;
      const remaining = (this.open[last] as number) - 1;
      if (remaining > 0) {
        this.open[last] = remaining;
        return;
      }
      this.open.pop();
    }
    // An attribute is metadata attached to the next frame, not a frame of its own.
    if (this.topType === '|') return;
    ends.push({ end: offset, kind: this.topType === '>' ? 'push' : 'reply' });
  }
}
