import fc from "fast-check";

/**
 * Byte-level mutations of a source, AFL style but aware of what breaks a lexer: cut or duplicate a range,
 * insert punctuation, keywords or extreme numbers, swap two ranges, flip one character, truncate. Positions
 * are fractions of the length, so one mutation list applies to any text.
 */
export type Mutation =
  | { readonly kind: "delete"; readonly at: number; readonly length: number }
  | { readonly kind: "insert"; readonly at: number; readonly text: string }
  | { readonly kind: "duplicate"; readonly at: number; readonly length: number }
  | { readonly kind: "swap"; readonly a: number; readonly b: number; readonly length: number }
  | { readonly kind: "flip"; readonly at: number; readonly bit: number }
  | { readonly kind: "truncate"; readonly at: number };

const fragments = [
  "(", ")", ",", "=", "&", "|", "!", "..", "[", "]", "#", "\n", "\"", "%", "/", "*", "-", "+", "<=", "==",
  "pattern", "import", "input", "if", "then", "else", "in", "int", "estimate", "causal", "full", "none",
  "q", "k", "i", "h", "kvh", "l", "Q", "K", "H", "KVH", "L", "index[H]", "blocks[H](0, 0)", "ids[K]", "bool[L]",
  "0", "-1", "2147483647", "2147483648", "4294967296", "99999999999999999999", "1e9", "0.5", "0.",
  "int(5..1)", "int(1..)", "/ 0", "% 0", "min(", "max(", "a_shape(", "import \"a_shape.stip\"", "import \"nope.stip\"",
  "\u00e9", "\u0000", "\t", "\r\n", "\uffff", "\ud83d\ude00",
];

const fraction = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("delete" as const), at: fraction, length: fc.integer({ min: 1, max: 24 }) }),
  fc.record({ kind: fc.constant("insert" as const), at: fraction, text: fc.oneof(fc.constantFrom(...fragments), fc.string({ maxLength: 6 })) }),
  fc.record({ kind: fc.constant("duplicate" as const), at: fraction, length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant("swap" as const), a: fraction, b: fraction, length: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ kind: fc.constant("flip" as const), at: fraction, bit: fc.integer({ min: 0, max: 6 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fraction }),
);

export function applyMutation(text: string, m: Mutation): string {
  const position = (f: number): number => Math.floor(f * (text.length + 1));
  switch (m.kind) {
    case "delete": {
      const at = position(m.at);
      return text.slice(0, at) + text.slice(at + m.length);
    }
    case "insert": {
      const at = position(m.at);
      return text.slice(0, at) + m.text + text.slice(at);
    }
    case "duplicate": {
      const at = position(m.at);
      const piece = text.slice(at, at + m.length);
      return text.slice(0, at) + piece + piece + text.slice(at + m.length);
    }
    case "swap": {
      const [a, b] = [position(m.a), position(m.b)].sort((x, y) => x - y) as [number, number];
      const length = Math.min(m.length, b - a);
      if (length <= 0) return text;
      return text.slice(0, a) + text.slice(b, b + length) + text.slice(a + length, b) + text.slice(a, a + length) + text.slice(b + length);
    }
    case "flip": {
      const at = Math.min(position(m.at), text.length - 1);
      if (at < 0) return text;
      return text.slice(0, at) + String.fromCharCode(text.charCodeAt(at) ^ (1 << m.bit)) + text.slice(at + 1);
    }
    case "truncate":
      return text.slice(0, position(m.at));
  }
}

/** A source from `base`, with one to four mutations applied in order. */
export function mutatedSource(base: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.tuple(base, fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([text, list]) => list.reduce(applyMutation, text));
}
