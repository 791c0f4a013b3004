/** A rows × cols boolean matrix, one bit per (query row, key) pair, rows padded to 32-bit words. */
export class Bitset {
  readonly wordsPerRow: number;
  readonly words: Uint32Array;

  constructor(readonly rows: number, readonly cols: number) {
    this.wordsPerRow = Math.ceil(cols / 32);
    this.words = new Uint32Array(rows * this.wordsPerRow);
  }

  get(row: number, col: number): boolean {
    return (((this.words[row * this.wordsPerRow + (col >>> 5)] ?? 0) >>> (col & 31)) & 1) === 1;
  }

  set(row: number, col: number): void {
    const at = row * this.wordsPerRow + (col >>> 5);
    this.words[at] = ((this.words[at] ?? 0) | (1 << (col & 31))) >>> 0;
  }

  /** Number of set bits (kept pairs). */
  count(): number {
    let total = 0;
    for (const word of this.words) total += popcount(word);
    return total;
  }

  countRow(row: number): number {
    let total = 0;
    for (let w = 0; w < this.wordsPerRow; w++) total += popcount(this.words[row * this.wordsPerRow + w] ?? 0);
    return total;
  }

  /** Set bits of one row in columns [start, end). */
  countRange(row: number, start: number, end: number): number {
    let total = 0;
    const base = row * this.wordsPerRow;
    for (let c = start; c < end; ) {
      const word = this.words[base + (c >>> 5)] ?? 0;
      const offset = c & 31;
      const take = Math.min(32 - offset, end - c);
      const bits = take === 32 ? word : (word >>> offset) & ((1 << take) - 1);
      total += popcount(bits >>> 0);
      c += take;
    }
    return total;
  }

  equals(other: Bitset): boolean {
    return this.rows === other.rows && this.cols === other.cols && this.words.every((w, at) => w === other.words[at]);
  }

  /** `#` for kept, `.` for dropped: one line per query row. */
  toText(): string {
    const lines: string[] = [];
    for (let r = 0; r < this.rows; r++) {
      let line = "";
      for (let c = 0; c < this.cols; c++) line += this.get(r, c) ? "#" : ".";
      lines.push(line);
    }
    return lines.join("\n");
  }
}

export function popcount(word: number): number {
  let x = word - ((word >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
