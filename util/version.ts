/** The compiler's version: part of every disk cache key, so a new compiler never reads an old one's entries. Kept equal to package.json's (a test checks). */
export const stippleVersion = "0.1.0";
