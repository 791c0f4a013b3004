import fc from "fast-check";
import { printFile } from "../grammar/print.js";
import { fileAst } from "./arbitraries.js";
import { mutatedSource } from "./mutate.js";

/**
 * What the fuzzer feeds the compiler: grammar-aware sources (well typed, so they reach the planner and the
 * backends; or random syntax trees, so they exercise the checker), and byte-level mutations of the examples
 * and of generated sources (so they exercise the lexer, the parser and error recovery).
 */
export interface FuzzCase {
  readonly origin: "typed" | "syntax" | "mutated-example" | "mutated-typed";
  readonly source: string;
  /** Seeds the shapes, parameters and runtime inputs the oracle binds the accepted patterns with. */
  readonly bindSeed: number;
}

/** The example files, by name: mutation seeds and importable from every case. */
export type ExampleSources = ReadonlyMap<string, string>;

interface Scope {
  /** Integer parameters usable in arithmetic; `positive` ones may divide. */
  readonly ints: readonly string[];
  readonly positive: readonly string[];
  readonly index: readonly string[];
  readonly blocks: readonly { readonly name: string; readonly size: string }[];
  readonly ids: readonly string[];
  readonly tables: readonly string[];
}

const intAtom = (scope: Scope): fc.Arbitrary<string> => fc.oneof(
  fc.constantFrom("q", "k", "i", "q - k", "k - q", "K - q", "Q - i", "K", "Q", "h", "l"),
  fc.integer({ min: -8, max: 70 }).map(String),
  // Now and then a constant at the edge of 32-bit kernel arithmetic.
  fc.constantFrom("2147483647", "2147483648", "1000000000", "65536", "4294967296"),
  ...(scope.ints.length > 0 ? [fc.constantFrom(...scope.ints)] : []),
);

const divisor = (scope: Scope): fc.Arbitrary<string> =>
  fc.oneof(fc.integer({ min: 1, max: 9 }).map(String), ...(scope.positive.length > 0 ? [fc.constantFrom(...scope.positive)] : []));

/** A well-typed condition over the scope: affine comparisons, lines, input tests, `if` on tables, calls. */
function condition(scope: Scope, calls: readonly string[]): fc.Arbitrary<string> {
  const inputTests: fc.Arbitrary<string>[] = [];
  if (scope.index.length > 0) {
    inputTests.push(fc.tuple(fc.constantFrom(...scope.index), fc.constantFrom("k", "q - k")).map(([name, of]) => `${of} in ${name}[h]`));
  }
  if (scope.blocks.length > 0) {
    inputTests.push(fc.constantFrom(...scope.blocks).map(({ name, size }) => `(i / ${size}, k / ${size}) in ${name}[h]`));
  }
  if (scope.ids.length > 0) inputTests.push(fc.constantFrom(...scope.ids).map((name) => `${name}[q] == ${name}[k]`));
  const { cond } = fc.letrec<{ cond: string; int: string }>((tie) => ({
    int: fc.oneof(
      { depthSize: "small" },
      intAtom(scope),
      fc.tuple(tie("int"), fc.constantFrom("+", "-"), tie("int")).map(([a, op, b]) => `(${a} ${op} ${b})`),
      fc.tuple(tie("int"), fc.integer({ min: -3, max: 3 })).map(([a, c]) => `(${a}) * ${c}`),
      fc.tuple(tie("int"), fc.constantFrom("/", "%"), divisor(scope)).map(([a, op, d]) => `(${a}) ${op} ${d}`),
      fc.tuple(fc.constantFrom("min", "max"), tie("int"), tie("int")).map(([f, a, b]) => `${f}(${a}, ${b})`),
    ),
    cond: fc.oneof(
      { depthSize: "small" },
      fc.constantFrom("causal", "full", "none"),
      fc.tuple(tie("int"), fc.constantFrom("<", "<=", ">", ">=", "==", "!="), tie("int")).map(([a, op, b]) => `${a} ${op} ${b}`),
      ...inputTests,
      ...(calls.length > 0 ? [fc.tuple(fc.constantFrom(...calls), tie("int"), tie("int")).map(([f, a, b]) => `${f}(max(${a}, 0), max(${b}, 0))`)] : []),
      fc.tuple(tie("cond"), fc.constantFrom("&", "|"), tie("cond")).map(([a, op, b]) => `(${a}) ${op} (${b})`),
      tie("cond").map((a) => `!(${a})`),
      ...(scope.tables.length > 0
        ? [fc.tuple(fc.constantFrom(...scope.tables), tie("cond"), tie("cond")).map(([t, a, b]) => `(if ${t}[l, kvh] then ${a} else ${b})`)]
        : []),
      fc.tuple(tie("cond"), tie("cond"), tie("cond")).map(([c, a, b]) => `(if ${c} then ${a} else ${b})`),
    ),
  }));
  return fc.oneof({ arbitrary: fc.tuple(fc.constantFrom("causal", "causal & k >= 0"), cond).map(([c, body]) => `${c} & (${body})`), weight: 2 }, { arbitrary: cond, weight: 1 });
}

interface Declarations {
  readonly text: string[];
  readonly scope: Scope;
}

/** Up to three integer parameters (ranges, defaults, sometimes none) and up to three runtime inputs. */
const declarations: fc.Arbitrary<Declarations> = fc.record({
  params: fc.array(fc.record({
    min: fc.option(fc.integer({ min: -2, max: 3 }), { nil: undefined }),
    span: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
    defaultOffset: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
  }), { maxLength: 3 }),
  index: fc.array(fc.constantFrom("H", "KVH"), { maxLength: 2 }),
  blocks: fc.option(fc.oneof(fc.integer({ min: 1, max: 40 }).map(String), fc.constant("p0")), { nil: undefined }),
  ids: fc.boolean(),
  table: fc.option(fc.constantFrom("L, KVH", "L, H"), { nil: undefined }),
}).map((r) => {
  const text: string[] = [];
  const ints: string[] = [];
  const positive: string[] = [];
  r.params.forEach((p, at) => {
    const name = `p${at}`;
    // p0 may size blocks: keep it positive then.
    const min = at === 0 && r.blocks === "p0" ? Math.max(1, p.min ?? 1) : p.min;
    const range = min === undefined ? "" : `(${min}..${p.span === undefined ? "" : min + p.span})`;
    const fallback = p.defaultOffset === undefined ? "" : ` = ${Math.min((min ?? 0) + p.defaultOffset, (min ?? 0) + (p.span ?? 99))}`;
    text.push(`${name}: int${range}${fallback}`);
    ints.push(name);
    if (min !== undefined && min >= 1) positive.push(name);
  });
  const blockSize = r.blocks === "p0" && r.params.length === 0 ? "16" : r.blocks;
  const index = r.index.map((axis, at) => { text.push(`input v${at}: index[${axis}]`); return `v${at}`; });
  const blocks = blockSize === undefined ? [] : [{ name: "b", size: blockSize }];
  if (blockSize !== undefined) text.push(`input b: blocks[H](${blockSize}, ${blockSize})`);
  if (r.ids) text.push("input doc: ids[K]");
  if (r.table !== undefined) text.push(`input t: bool[${r.table}]`);
  return { text, scope: { ints, positive, index, blocks, ids: r.ids ? ["doc"] : [], tables: r.table === undefined ? [] : ["t"] } };
});

/** An `estimate` clause the scope can satisfy, or none. */
function estimateClause(scope: Scope): fc.Arbitrary<string> {
  const options: fc.Arbitrary<string>[] = [fc.constant("")];
  const [first, second] = scope.index;
  if (first !== undefined && second !== undefined) {
    options.push(fc.tuple(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 20 }))
      .map(([last, columns, diagonals]) => `\n  estimate vertical_slash(${first}, ${second}, last_q = ${last}, vertical_size = ${columns}, slash_size = ${diagonals})`));
  }
  const [blocks] = scope.blocks;
  if (blocks !== undefined) {
    options.push(fc.integer({ min: 0, max: 9 }).map((top) => `\n  estimate block_top_k(${blocks.name}, top_k = ${top})`));
    options.push(fc.tuple(fc.constantFrom(1, 2, 4, 8), fc.integer({ min: 1, max: 99 }))
      .map(([stride, percent]) => `\n  estimate xattention(${blocks.name}, stride = ${stride}, threshold = 0.${String(percent).padStart(2, "0")})`));
  }
  return fc.oneof(...options);
}

/** A well-typed file: maybe an import of a_shape, maybe a helper pattern, and the main pattern. */
const typedSource: fc.Arbitrary<string> = fc.record({
  imports: fc.boolean(),
  helper: fc.boolean(),
  decls: declarations,
}).chain(({ imports, helper, decls }) => {
  const calls = [...(imports ? ["a_shape"] : []), ...(helper ? ["helper"] : [])];
  const helperScope: Scope = { ints: ["x", "y"], positive: [], index: [], blocks: [], ids: [], tables: [] };
  return fc.tuple(
    helper ? condition(helperScope, []) : fc.constant(""),
    condition(decls.scope, calls),
    estimateClause(decls.scope),
  ).map(([helperBody, body, estimate]) => [
    ...(imports ? ['import "a_shape.stip"'] : []),
    ...(helper ? [`pattern helper(x: int(0..), y: int(0..) = 4) =\n  ${helperBody}`] : []),
    `pattern main(${decls.text.join(", ")}) =\n  ${body}${estimate}`,
  ].join("\n") + "\n");
});

/** Random syntax trees printed as text: mostly ill typed, so they stress the checker's every error path. */
const syntaxSource: fc.Arbitrary<string> = fileAst.map((ast) => printFile(ast));

/** The case stream: a weighted mix of the four kinds, each with a seed for binding. */
export function fuzzCases(examples: ExampleSources): fc.Arbitrary<FuzzCase> {
  const exampleTexts = [...examples.values()];
  const bindSeed = fc.integer({ min: 0, max: 2 ** 31 - 1 });
  return fc.oneof(
    { arbitrary: fc.tuple(typedSource, bindSeed).map(([source, seed]): FuzzCase => ({ origin: "typed", source, bindSeed: seed })), weight: 4 },
    { arbitrary: fc.tuple(syntaxSource, bindSeed).map(([source, seed]): FuzzCase => ({ origin: "syntax", source, bindSeed: seed })), weight: 2 },
    { arbitrary: fc.tuple(mutatedSource(fc.constantFrom(...exampleTexts)), bindSeed).map(([source, seed]): FuzzCase => ({ origin: "mutated-example", source, bindSeed: seed })), weight: 3 },
    { arbitrary: fc.tuple(mutatedSource(typedSource), bindSeed).map(([source, seed]): FuzzCase => ({ origin: "mutated-typed", source, bindSeed: seed })), weight: 1 },
  );
}

/** Case `n` of the stream for `seed`: the same pair always gives the same case, in any process. */
export function fuzzCase(cases: fc.Arbitrary<FuzzCase>, seed: number, n: number): FuzzCase {
  const [only] = fc.sample(cases, { seed: (Math.imul(seed | 0, 0x9e3779b1) ^ n) | 0, numRuns: 1 });
  if (only === undefined) throw new Error("fast-check returned no sample");
  return only;
}
