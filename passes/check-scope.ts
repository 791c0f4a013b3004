import type { Diagnostic } from "../diagnostics/diagnostic.js";
import type { PatternDecl } from "../grammar/ast.js";
import type { Interval } from "../ir/pattern/analysis.js";
import type { InputRef, IntNode, SizeName, VarName } from "../ir/pattern/nodes.js";
import type { PatternDef } from "../ir/pattern/pattern.js";

export const variableNames: readonly VarName[] = ["q", "k", "i", "h", "kvh", "l"];
export const sizeNames: readonly SizeName[] = ["Q", "K", "H", "KVH", "L"];
export const builtinPatterns = ["causal", "full", "none"] as const;
export const builtinFunctions = ["min", "max"] as const;
/** Names a user may not declare: they already mean something everywhere. */
export const reservedNames: ReadonlySet<string> = new Set<string>([
  ...variableNames, ...sizeNames, ...builtinPatterns, ...builtinFunctions,
]);

/** What the checker knows while it turns one pattern body (or an inlined callee body) into Pattern IR. */
export interface Scope {
  /** The declaration whose body is being read. */
  readonly decl: PatternDecl;
  /** Integer parameters in scope: their Pattern IR (a `param` node at top level, the argument when inlined). */
  readonly ints: ReadonlyMap<string, IntNode>;
  readonly inputs: ReadonlyMap<string, InputRef>;
  /** Ranges of the top-level pattern's parameters, to prove divisors positive. */
  readonly paramRanges: ReadonlyMap<string, Interval>;
  /** Where diagnostics go: the list itself at top level, a call-site wrapper when inlining. */
  readonly report: (d: Diagnostic) => void;
}

/** The checker's view of the whole program, shared by every scope. */
export interface ProgramContext {
  readonly patterns: ReadonlyMap<string, PatternDecl>;
  /** Checks a pattern standalone (memoized); undefined when it has errors of its own. */
  readonly checkedPattern: (name: string) => PatternDef | undefined;
  /** Names of patterns that take part in a call cycle (already reported). */
  readonly recursive: ReadonlySet<string>;
}
