#!/usr/bin/env node
// Fails when TypeScript sources import each other in a cycle. Cycles make initialisation order fragile and
// rooms (grammar → passes → ir → backends) leak into one another; the data should flow one way.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const roots = ["index.ts", "grammar", "ir", "passes", "backends", "compiler", "diagnostics", "cli", "util", "bench"];
const files = [];
const walk = (path) => {
  let stat;
  try { stat = statSync(path); } catch { return; }
  if (stat.isDirectory()) for (const entry of readdirSync(path)) walk(join(path, entry));
  else if (path.endsWith(".ts") && !path.endsWith(".d.ts")) files.push(resolve(path));
};
roots.forEach(walk);

const importPattern = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+["'](\.[^"']+)["']/g;
const graph = new Map();
for (const file of files) {
  const text = readFileSync(file, "utf8");
  const targets = [];
  for (const match of text.matchAll(importPattern)) {
    // `import type` edges vanish at run time but still couple the modules: count them too.
    targets.push(resolve(dirname(file), match[1].replace(/\.js$/, ".ts")));
  }
  graph.set(file, targets.filter((t) => files.includes(t)));
}

const state = new Map();
const cycles = [];
const visit = (file, path) => {
  state.set(file, "visiting");
  for (const next of graph.get(file) ?? []) {
    if (state.get(next) === "visiting") cycles.push([...path.slice(path.indexOf(next)), file, next]);
    else if (!state.has(next)) visit(next, [...path, file]);
  }
  state.set(file, "done");
};
for (const file of files) if (!state.has(file)) visit(file, []);

if (cycles.length > 0) {
  for (const cycle of cycles) console.error(`import cycle: ${cycle.map((f) => relative(process.cwd(), f)).join(" → ")}`);
  process.exit(1);
}
console.log(`no import cycles among ${files.length} modules`);
