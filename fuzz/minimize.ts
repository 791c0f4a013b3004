import type { ExampleSources, FuzzCase } from "./generate.js";
import { checkCase, type Verdict } from "./oracle.js";

type Failed = Extract<Verdict, { kind: "failed" }>;

/**
 * Shrinks a failing source while it fails at the same stage: first whole lines, then tokens, then single
 * characters (delta debugging, greedy, bounded by `budget` oracle calls). The result is the reproducer
 * saved in fuzz/regressions/.
 */
export async function minimize(fuzzCase: FuzzCase, failure: Failed, examples: ExampleSources, budget = 400): Promise<{ source: string; failure: Failed }> {
  let best = fuzzCase.source;
  let bestFailure = failure;
  let calls = 0;
  const stillFails = async (source: string): Promise<Failed | undefined> => {
    calls++;
    const verdict = await checkCase({ ...fuzzCase, source }, examples);
    return verdict.kind === "failed" && verdict.stage === failure.stage ? verdict : undefined;
  };
  for (const split of [splitLines, splitTokens, splitCharacters]) {
    let pieces = split(best);
    for (let chunk = Math.max(1, pieces.length >> 1); chunk >= 1 && calls < budget; chunk = chunk === 1 ? 0 : chunk >> 1) {
      for (let start = 0; start < pieces.length && calls < budget;) {
        const candidate = [...pieces.slice(0, start), ...pieces.slice(start + chunk)];
        const found = await stillFails(candidate.join(""));
        if (found === undefined) {
          start += chunk;
          continue;
        }
        pieces = candidate;
        best = candidate.join("");
        bestFailure = found;
      }
    }
  }
  return { source: best, failure: bestFailure };
}

function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/** Identifiers, numbers, runs of blanks and single other characters, so a token drops with its meaning. */
function splitTokens(text: string): string[] {
  return text.match(/[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|\s+|[\s\S]/g) ?? [];
}

function splitCharacters(text: string): string[] {
  return [...text];
}
