import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";
import type { Sizes } from "../ir/pattern/eval-int.js";
import { evalConstant } from "../ir/pattern/eval-int.js";
import type { InputRef } from "../ir/pattern/nodes.js";
import type { BoundInput, InputLeaf } from "../ir/pattern/binding.js";
import type { InputInfo, PatternDef } from "../ir/pattern/pattern.js";

/**
 * Checks raw runtime inputs (parsed JSON or arrays from the API) against the pattern's declarations and the
 * lengths: index lists per head, block matrices of ⌈Q/rows⌉ × ⌈K/cols⌉, one id per key, 0/1 tables.
 * `describe` names where a value came from ("vertical.json") for messages. Inputs in `estimated` are written
 * on the device by the pattern's estimator: they are bound empty, of the right shape, and must not be given.
 */
export function bindInputs(
  pattern: PatternDef,
  raw: ReadonlyMap<string, unknown>,
  params: ReadonlyMap<string, number>,
  sizes: Sizes,
  describe: (name: string) => string = (name) => `input \`${name}\``,
  estimated: ReadonlySet<string> = new Set(),
): { inputs: Map<string, BoundInput>; diagnostics: Diagnostic[] } {
  const inputs = new Map<string, BoundInput>();
  const diagnostics: Diagnostic[] = [];
  for (const info of pattern.inputs) {
    const value = raw.get(info.ref.name);
    if (estimated.has(info.ref.name)) {
      if (value !== undefined) {
        diagnostics.push(diagnostic("STP314", `${describe(info.ref.name)} is given, but the estimator chooses it`, {
          span: info.span, hint: `leave --input ${info.ref.name} out, or run without --estimate`,
        }));
        continue;
      }
      inputs.set(info.ref.name, emptyInput(info.ref, params, sizes));
      continue;
    }
    if (value === undefined) {
      diagnostics.push(diagnostic("STP304", `pattern \`${pattern.name}\` needs the runtime input \`${info.ref.name}\``, {
        span: info.span, hint: `give it with --input ${info.ref.name}=FILE.json (${shapeText(info.ref)})`,
      }));
      continue;
    }
    const problems: string[] = [];
    const bound = bindInput(info, value, params, sizes, problems);
    if (bound === undefined || problems.length > 0) {
      diagnostics.push(diagnostic("STP305", `${describe(info.ref.name)} has the wrong shape: ${problems.slice(0, 3).join("; ")}`, {
        span: info.span, hint: `expected ${shapeText(info.ref)} with ${sizesText(sizes)}`,
      }));
      continue;
    }
    inputs.set(info.ref.name, bound);
  }
  return { inputs, diagnostics };
}

export function shapeText(ref: InputRef): string {
  const outer = ref.dims.filter((d) => d !== "K").map((d) => `[${d}]`).join("");
  switch (ref.kind) {
    case "index": return `nested arrays ${outer}[n] of key positions or offsets in 0…K−1`;
    case "blocks": return `nested arrays ${outer}[⌈Q/rows⌉][⌈K/cols⌉] of 0/1`;
    case "ids": return "one array [K] of integer ids";
    case "bool": return `nested arrays ${outer} of 0/1`;
  }
}

function sizesText(sizes: Sizes): string {
  return `Q = ${sizes.Q}, K = ${sizes.K}, H = ${sizes.H}, KVH = ${sizes.KVH}, L = ${sizes.L}`;
}

/** An input with nothing set (no index, no block), of the shape the lengths give: an estimator fills it. */
function emptyInput(ref: InputRef, params: ReadonlyMap<string, number>, sizes: Sizes): BoundInput {
  const extents = ref.dims.filter((axis) => axis !== "K").map((axis) => sizes[axis]);
  const count = extents.reduce((n, extent) => n * extent, 1);
  const leaf = (): InputLeaf => {
    switch (ref.kind) {
      case "index":
        return { kind: "index", members: new Uint8Array(sizes.K), values: new Int32Array(0) };
      case "blocks": {
        const [rowSize, colSize] = ref.blockSize ?? [];
        const rows = rowSize === undefined ? 1 : Math.ceil(sizes.Q / evalConstant(rowSize, params, sizes));
        const cols = colSize === undefined ? 1 : Math.ceil(sizes.K / evalConstant(colSize, params, sizes));
        return { kind: "blocks", rows, cols, bits: new Uint8Array(rows * cols) };
      }
      case "bool":
        return { kind: "bool", value: false };
      case "ids":
        return { kind: "ids", ids: new Float64Array(sizes.K) };
    }
  };
  return ref.kind === "ids" ? { ref, extents: [sizes.K], leaves: [leaf()] } : { ref, extents, leaves: Array.from({ length: count }, leaf) };
}

function bindInput(info: InputInfo, value: unknown, params: ReadonlyMap<string, number>, sizes: Sizes, problems: string[]): BoundInput | undefined {
  const { ref } = info;
  if (ref.kind === "ids") {
    const ids = numberArray(value, sizes.K, ref.name, problems, (x) => Number.isInteger(x) && x >= -(2 ** 31) && x < 2 ** 31);
    return ids && { ref, extents: [sizes.K], leaves: [{ kind: "ids", ids: Float64Array.from(ids) }] };
  }
  const outer = ref.dims.map((axis) => sizes[axis]);
  const leaves: InputLeaf[] = [];
  const walk = (node: unknown, depth: number, path: string): void => {
    if (problems.length > 3) return;
    const extent = outer[depth];
    if (extent !== undefined) {
      if (!Array.isArray(node) || node.length !== extent) {
        problems.push(`\`${path}\` should be an array of ${extent} (axis ${ref.dims[depth] ?? ""})${Array.isArray(node) ? `, has ${node.length}` : ""}`);
        return;
      }
      node.forEach((child, at) => walk(child, depth + 1, `${path}[${at}]`));
      return;
    }
    const leaf = bindLeaf(ref, node, path, params, sizes, problems);
    if (leaf !== undefined) leaves.push(leaf);
  };
  walk(value, 0, ref.name);
  return problems.length > 0 ? undefined : { ref, extents: outer, leaves };
}

function bindLeaf(ref: InputRef, node: unknown, path: string, params: ReadonlyMap<string, number>, sizes: Sizes, problems: string[]): InputLeaf | undefined {
  switch (ref.kind) {
    case "bool":
      if (node === 0 || node === 1 || typeof node === "boolean") return { kind: "bool", value: node === 1 || node === true };
      problems.push(`\`${path}\` should be 0 or 1`);
      return undefined;
    case "index": {
      if (!Array.isArray(node)) {
        problems.push(`\`${path}\` should be an array of integers`);
        return undefined;
      }
      const members = new Uint8Array(sizes.K);
      for (const [at, x] of node.entries()) {
        if (typeof x !== "number" || !Number.isInteger(x) || x < 0 || x >= sizes.K) {
          problems.push(`\`${path}[${at}]\` is ${JSON.stringify(x)}, not an integer in 0…${sizes.K - 1}`);
          return undefined;
        }
        members[x] = 1;
      }
      const values: number[] = [];
      members.forEach((m, at) => m === 1 && values.push(at));
      return { kind: "index", members, values: Int32Array.from(values) };
    }
    case "blocks": {
      const [rowSize, colSize] = ref.blockSize ?? [];
      if (rowSize === undefined || colSize === undefined) return undefined;
      const rows = Math.ceil(sizes.Q / evalConstant(rowSize, params, sizes));
      const cols = Math.ceil(sizes.K / evalConstant(colSize, params, sizes));
      if (!Array.isArray(node) || node.length !== rows) {
        problems.push(`\`${path}\` should have ${rows} rows (⌈Q / block rows⌉)${Array.isArray(node) ? `, has ${node.length}` : ""}`);
        return undefined;
      }
      const bits = new Uint8Array(rows * cols);
      for (let r = 0; r < rows; r++) {
        const row = numberArray(node[r], cols, `${path}[${r}]`, problems, (x) => x === 0 || x === 1);
        if (row === undefined) return undefined;
        bits.set(row, r * cols);
      }
      return { kind: "blocks", rows, cols, bits };
    }
    case "ids":
      return undefined;
  }
}

function numberArray(node: unknown, length: number, path: string, problems: string[], valid: (x: number) => boolean): number[] | undefined {
  if (!Array.isArray(node) || node.length !== length) {
    problems.push(`\`${path}\` should be an array of ${length}${Array.isArray(node) ? `, has ${node.length}` : ""}`);
    return undefined;
  }
  const values: number[] = [];
  for (const [at, x] of node.entries()) {
    const number = typeof x === "boolean" ? Number(x) : x;
    if (typeof number !== "number" || !valid(number)) {
      problems.push(`\`${path}[${at}]\` is ${JSON.stringify(x)}`);
      return undefined;
    }
    values.push(number);
  }
  return values;
}
