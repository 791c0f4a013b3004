/**
 * A 3 × 5 pixel font for the text of PNG pictures (titles, ticks, legends): digits, capitals and the few
 * signs labels use. Each glyph is five rows, top first; in a row, 4 is the left pixel, 2 the middle, 1 the
 * right. Text is drawn in capitals; characters without a glyph are drawn as blanks.
 */
const glyphs: Readonly<Record<string, string>> = {
  "0": "75557", "1": "26227", "2": "71747", "3": "71317", "4": "55711", "5": "74717", "6": "74757", "7": "71122", "8": "75757", "9": "75717",
  A: "25755", B: "65656", C: "34443", D: "65556", E: "74647", F: "74644", G: "34553", H: "55755", I: "72227", J: "11152",
  K: "55655", L: "44447", M: "57755", N: "65555", O: "25552", P: "65644", Q: "25563", R: "65655", S: "34216", T: "72222",
  U: "55557", V: "55552", W: "55775", X: "55255", Y: "55222", Z: "71247",
  " ": "00000", ".": "00002", ",": "00024", "%": "51245", "=": "07070", "-": "00700", ":": "02020", "(": "12221", ")": "42224",
  "/": "11244", "_": "00007", "×": "05250", "·": "00200", "…": "00005",
};

export const glyphWidth = 3;
export const glyphHeight = 5;

/** Whether the font draws `char` (in capitals); others are drawn as blanks. */
export function hasGlyph(char: string): boolean {
  return glyphs[char.toUpperCase()] !== undefined;
}

/** Whether pixel (x, y) of character `char`'s glyph is set. */
export function glyphPixel(char: string, x: number, y: number): boolean {
  const rows = glyphs[char.toUpperCase()] ?? glyphs[" "] ?? "00000";
  const row = Number(rows[y] ?? "0");
  return ((row >> (glyphWidth - 1 - x)) & 1) === 1;
}
