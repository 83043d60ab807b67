/**
 * Byte arrays carved out of shared slabs (a bump allocator), for serialised messages.
 *
 * Every `new Uint8Array(n)` above a few dozen bytes gets a backing store of its own outside the JavaScript
 * heap, which the engine allocates, accounts and, after a collection, frees on a helper thread. With the
 * helper on another core, that costs several µs per message on the machines measured (docs/benchmarks.md),
 * more than writing the message. A slab is one such allocation shared by many messages.
 *
 * A slab is never written twice: views are handed out front to back, and a full slab is replaced by a new
 * one, never reset. The garbage collector frees a slab once no view of it is left, so a view that is kept
 * keeps its whole slab. Callers that keep bytes long should therefore share a slab with bytes that are
 * kept about as long (see the transaction layer's), and one view never pins more than `slabBytes`.
 */
export class ByteSlab {
  private slab: Uint8Array;
  private used = 0;

  /**
   * @param slabBytes size of each slab.
   * @param maxPiece largest request served from a slab; a larger one gets an array of its own, so that one
   *   big message cannot waste most of a slab.
   */
  constructor(
    private readonly slabBytes = 65_536,
    private readonly maxPiece = 8_192,
  ) {
    if (!(maxPiece > 0 && maxPiece <= slabBytes)) throw new RangeError("maxPiece must be within 1..slabBytes");
    this.slab = new Uint8Array(0);
  }

  /** A zero-filled view of `size` bytes that no other call is given. */
  take(size: number): Uint8Array {
    if (size > this.maxPiece) return new Uint8Array(size);
    if (this.used + size > this.slab.length) {
      this.slab = new Uint8Array(this.slabBytes);
      this.used = 0;
    }
    const view = this.slab.subarray(this.used, this.used + size);
    // Views start on 8-byte boundaries, as separate arrays would.
    this.used += (size + 7) & ~7;
    return view;
  }
}
