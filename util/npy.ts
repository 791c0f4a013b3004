import { halfToFloat } from "./half.js";

/**
 * NumPy `.npy` files, the format kernel authors already have: little-endian float32 or float16 arrays in C
 * order. Reading converts to Float32Array; writing produces float32.
 */
export interface NpyArray {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

/** The element types read, and their bytes. */
const elementBytes: Partial<Record<string, number>> = { "<f4": 4, "<f2": 2 };

export function readNpy(bytes: Uint8Array): NpyArray {
  if (bytes.length < 12 || magic.some((b, at) => bytes[at] !== b)) throw new Error("not a .npy file (bad magic)");
  const major = bytes[6] ?? 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder("latin1").decode(bytes.subarray(start, start + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw new Error(`unreadable .npy header: ${header.trim()}`);
  if (fortran === "True") throw new Error("Fortran-ordered arrays are not supported: save with np.ascontiguousarray");
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  if (shape.some((extent) => !Number.isSafeInteger(extent) || extent < 0)) throw new Error(`unreadable .npy shape (${shapeText})`);
  const width = elementBytes[descr];
  if (width === undefined) throw new Error(`dtype ${descr} is not supported: use float32 ('<f4') or float16 ('<f2')`);
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLength;
  // Checked before allocating: a cut-off download or copy would otherwise read past the end, and a
  // corrupt shape could ask for more memory than the machine has.
  const held = Math.max(0, bytes.length - offset);
  if (held < count * width) throw new Error(`truncated: its header says shape (${shape.join(", ")}) of ${descr}, ${count * width} bytes of data, but the file holds ${held}`);
  const data = new Float32Array(count);
  if (descr === "<f4") for (let at = 0; at < count; at++) data[at] = view.getFloat32(offset + 4 * at, true);
  else for (let at = 0; at < count; at++) data[at] = halfToFloat(view.getUint16(offset + 2 * at, true));
  return { shape, data };
}

export function writeNpy(shape: readonly number[], data: Float32Array): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // The data starts on a 64-byte boundary; the header ends with a newline.
  const unpadded = 10 + header.length + 1;
  header += " ".repeat((64 - (unpadded % 64)) % 64) + "\n";
  const out = new Uint8Array(10 + header.length + data.length * 4);
  out.set(magic, 0);
  out[6] = 1;
  out[7] = 0;
  const view = new DataView(out.buffer);
  view.setUint16(8, header.length, true);
  for (let at = 0; at < header.length; at++) out[10 + at] = header.charCodeAt(at);
  for (let at = 0; at < data.length; at++) view.setFloat32(10 + header.length + 4 * at, data[at] ?? 0, true);
  return out;
}
