import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ExampleSources } from "./generate.js";

/** The example files by bare name (`a_shape.stip`), as the fuzz entry file imports them. */
export function loadExamples(directory = "examples"): ExampleSources {
  return new Map(readdirSync(directory).filter((name) => name.endsWith(".stip")).sort().map((name) => [name, readFileSync(join(directory, name), "utf8")]));
}
