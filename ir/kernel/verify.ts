import { postOrder } from "../pattern/pattern.js";
import type { AttentionKernel, ResidueRun, RowGroups } from "./kernel.js";

/**
 * The kernel IR's invariants, the ones a backend relies on without checking: positive tile sizes and a
 * finite scale; row groups that partition the residues (so every row is computed exactly once); runs
 * inside their modulus; regions with bounds; lattices that skip keys; and runtime inputs listed exactly
 * when the mask reads them (an index plan only for kernels with inputs). Returns the problems found, in
 * words; `lower` throws on any (a compiler bug, never a user error).
 */
export function verifyKernel(kernel: AttentionKernel): string[] {
  const problems: string[] = [];
  const positive = (value: number, what: string): void => {
    if (!Number.isSafeInteger(value) || value < 1) problems.push(`${what} is ${value}, not a positive integer`);
  };
  positive(kernel.headDim, "the head dim");
  positive(kernel.blockM, "blockM");
  positive(kernel.blockN, "blockN");
  if (!Number.isFinite(kernel.scale) || kernel.scale <= 0) problems.push(`the scale is ${kernel.scale}`);
  problems.push(...rowGroupProblems(kernel.rowGroups));

  if (kernel.segments.kind === "closedForm") {
    kernel.segments.regions.forEach((region, at) => {
      if (region.lower.length === 0 || region.upper.length === 0) problems.push(`region ${at} has no ${region.lower.length === 0 ? "lower" : "upper"} bound`);
      region.rowTests.forEach((test) => problems.push(...runProblems(test, `region ${at}'s row test`)));
      if (region.keys.kind === "lattice") {
        problems.push(...runProblems(region.keys.lattice, `region ${at}'s lattice`));
        if (region.keys.lattice.width >= region.keys.lattice.modulus) problems.push(`region ${at}'s lattice keeps every key (a plain region would do)`);
      }
    });
  }

  const read = new Set(postOrder(kernel.mask).flatMap((node) => ("input" in node ? [node.input.name] : [])));
  const listed = new Set(kernel.inputs.map((input) => input.name));
  for (const name of read) if (!listed.has(name)) problems.push(`the mask reads input ${name}, which is not in the kernel's inputs`);
  for (const name of listed) if (!read.has(name)) problems.push(`input ${name} is listed but the mask never reads it`);
  if (kernel.segments.kind === "tileIndex" && kernel.inputs.length === 0) problems.push("a tile index without runtime inputs");
  if (kernel.gathers !== undefined) {
    if (kernel.segments.kind !== "tileIndex") problems.push("gathered lines without a tile index");
    for (const [what, list] of [["columns", kernel.gathers.columns], ["diagonals", kernel.gathers.diagonals]] as const) {
      if (list === undefined) continue;
      if (!listed.has(list.input.name)) problems.push(`gathered ${what} read input ${list.input.name}, which is not in the kernel's inputs`);
      if (list.input.kind !== "index") problems.push(`gathered ${what} come from ${list.input.kind} input ${list.input.name}, not an index list`);
    }
  }
  return problems;
}

/** Groups must cover every residue of their modulus exactly once: runs in cyclic order, each starting where the last ended. */
function rowGroupProblems(groups: RowGroups): string[] {
  const { modulus, runs } = groups;
  if (!Number.isSafeInteger(modulus) || modulus < 1) return [`row groups have modulus ${modulus}`];
  const [first] = runs;
  if (first === undefined) return ["there are no row groups"];
  let next = first.start;
  let covered = 0;
  for (const run of runs) {
    if (run.start < 0 || run.start >= modulus) return [`a row group starts at ${run.start}, outside 0…${modulus - 1}`];
    if (run.start !== next % modulus) return [`row groups leave residues out or overlap at ${run.start} (modulus ${modulus})`];
    if (run.width < 1) return [`a row group starting at ${run.start} is empty`];
    next = run.start + run.width;
    covered += run.width;
  }
  return covered === modulus ? [] : [`row groups cover ${covered} residues of ${modulus}`];
}

function runProblems(run: ResidueRun, what: string): string[] {
  if (!Number.isSafeInteger(run.modulus) || run.modulus < 1) return [`${what} has modulus ${run.modulus}`];
  if (run.width < 1 || run.width > run.modulus) return [`${what} keeps ${run.width} of ${run.modulus} residues`];
  return [];
}
