/**
 * 16-bit floats on the host: IEEE half (f16) and bfloat16 (bf16), as the raw words CUDA kernels read.
 * Conversions round to nearest even, as the hardware's `cvt.rn` does, so a host-rounded tensor and a
 * device-rounded one agree bit for bit.
 */
export type HalfFormat = "f16" | "bf16";

const scratch = new DataView(new ArrayBuffer(4));

/** The f16 word nearest to x (ties to even); overflow gives ±∞, NaN stays NaN. */
export function floatToHalf(x: number): number {
  scratch.setFloat32(0, x);
  return halfOfBits(scratch.getUint32(0));
}

/** The f16 word nearest to the f32 whose bits these are. */
function halfOfBits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200);
  const unbiased = exponent - 127;
  if (unbiased > 15) return sign | 0x7c00;
  if (unbiased >= -14) {
    // Normal: keep 10 of 23 mantissa bits, rounding the 13 dropped ones to even (a carry may bump the exponent).
    const word = ((unbiased + 15) << 10) | (mantissa >>> 13);
    return sign | roundDropped(word, mantissa & 0x1fff, 13);
  }
  if (unbiased < -25) return sign;
  // Subnormal: the implicit 1 joins the mantissa, shifted right past the smallest exponent.
  const full = mantissa | 0x800000;
  const shift = -unbiased - 14 + 13;
  return sign | roundDropped(full >>> shift, full & ((1 << shift) - 1), shift);
}

/** The bf16 word nearest to x (ties to even): the top half of the f32 bits, rounded. */
export function floatToBfloat16(x: number): number {
  scratch.setFloat32(0, x);
  return bfloat16OfBits(scratch.getUint32(0));
}

/** The bf16 word nearest to the f32 whose bits these are. */
function bfloat16OfBits(bits: number): number {
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return ((bits >>> 16) | 0x40) & 0xffff;
  return roundDropped(bits >>> 16, bits & 0xffff, 16) & 0xffff;
}

export function halfToFloat(word: number): number {
  const sign = word & 0x8000 ? -1 : 1;
  const exponent = (word >> 10) & 0x1f;
  const fraction = word & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction === 0 ? sign * Infinity : Number.NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

export function bfloat16ToFloat(word: number): number {
  scratch.setUint32(0, (word & 0xffff) << 16);
  return scratch.getFloat32(0);
}

/** A float tensor as 16-bit words in the given format. */
export function toHalfWords(data: Float32Array, format: HalfFormat): Uint16Array {
  const convert = format === "f16" ? halfOfBits : bfloat16OfBits;
  // The f32 bits straight from the tensor's memory (no DataView round trip per element).
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const words = new Uint16Array(data.length);
  for (let at = 0; at < data.length; at++) words[at] = convert(bits[at] ?? 0);
  return words;
}

/** What a tensor becomes after a round trip through the format: the values a 16-bit kernel really sees. */
export function roundedTo(data: Float32Array, format: HalfFormat): Float32Array {
  const table = valuesOf(format);
  const words = toHalfWords(data, format);
  // A plain loop over a table: Float32Array.from(words, halfToFloat) is 50× slower (iterator, powers of 2).
  const values = new Float32Array(words.length);
  for (let at = 0; at < words.length; at++) values[at] = table[words[at] ?? 0] ?? 0;
  return values;
}

const tables = new Map<HalfFormat, Float32Array>();

/** Every word's value in the format, built once. */
function valuesOf(format: HalfFormat): Float32Array {
  let table = tables.get(format);
  if (table === undefined) {
    const back = format === "f16" ? halfToFloat : bfloat16ToFloat;
    table = new Float32Array(65536);
    for (let word = 0; word < 65536; word++) table[word] = back(word);
    tables.set(format, table);
  }
  return table;
}

/** Drops `bits` low bits already split off as `dropped`, rounding `kept` to nearest, ties to even. */
function roundDropped(kept: number, dropped: number, bits: number): number {
  const half = 1 << (bits - 1);
  return dropped > half || (dropped === half && (kept & 1) === 1) ? kept + 1 : kept;
}
