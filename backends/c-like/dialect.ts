/**
 * What differs between the two C-like languages Stipple prints, for the code they share (masks, closed-form
 * tile ranges, row groups, lattice loops): declarations, `select`, and constant arrays. Everything else in
 * that code (arithmetic, comparisons, `&&`, `||`, `for`, `if`, calls to the helpers each prelude defines
 * under the same names: floor_div, floor_mod, ceil_div, run_at, run_index, …) is spelled the same.
 */
export interface Dialect {
  readonly name: "wgsl" | "cuda";
  /** An immutable value: `let x = e;` / `const auto x = e;`. */
  readonly let: (name: string, value: string) => string;
  /** A mutable value: `var x = e;` / `auto x = e;`. */
  readonly var: (name: string, value: string) => string;
  /** The first clause of a counting `for`: `var t = e` / `int t = e`. */
  readonly loopStart: (name: string, value: string) => string;
  /** `cond ? ifTrue : ifFalse`. */
  readonly select: (ifFalse: string, ifTrue: string, cond: string) => string;
  /** A constant integer array value bound to a name. */
  readonly intArray: (name: string, values: readonly number[]) => string;
  /** The suffix of an unsigned literal. */
  readonly unsigned: string;
}

export const wgsl: Dialect = {
  name: "wgsl",
  let: (name, value) => `let ${name} = ${value};`,
  var: (name, value) => `var ${name} = ${value};`,
  loopStart: (name, value) => `var ${name} = ${value}`,
  select: (ifFalse, ifTrue, cond) => `select(${ifFalse}, ${ifTrue}, ${cond})`,
  intArray: (name, values) => `let ${name} = array<i32, ${values.length}>(${values.join(", ")});`,
  unsigned: "u",
};

export const cuda: Dialect = {
  name: "cuda",
  let: (name, value) => `const auto ${name} = ${value};`,
  var: (name, value) => `auto ${name} = ${value};`,
  loopStart: (name, value) => `int ${name} = ${value}`,
  select: (ifFalse, ifTrue, cond) => `((${cond}) ? (${ifTrue}) : (${ifFalse}))`,
  intArray: (name, values) => `const int ${name}[${values.length}] = {${values.join(", ")}};`,
  unsigned: "u",
};

/** An f32 constant as both languages read it: the nearest f32, always with a decimal point or exponent (CUDA adds `f`). */
export function floatLiteral(x: number): string {
  const text = String(Math.fround(x));
  return /[.e]/.test(text) ? text : `${text}.0`;
}
