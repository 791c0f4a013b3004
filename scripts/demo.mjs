#!/usr/bin/env node
// The quickstart's main job: show a pattern's mask and plan, then run its WGSL kernel on the WebGPU adapter
// at hand (a software one is fine) and check it against the dense reference. Prints each command it runs.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeNpy } from "../dist/util/npy.js";

const cli = (args) => {
  process.stdout.write(`\n$ stipple ${args.join(" ")}\n`);
  process.stdout.write(execFileSync(process.execPath, ["dist/cli/main.js", ...args], { encoding: "utf8" }));
};

const pattern = ["examples/a_shape.stip", "--param", "sink=2", "--param", "window=4"];
cli(["mask", ...pattern, "--q-len", "16", "--kv-len", "16"]);
cli(["plan", ...pattern.slice(0, 1), "--param", "sink=64", "--param", "window=256", "--q-len", "2048", "--kv-len", "2048", "--format", "summary"]);

const dir = mkdtempSync(join(tmpdir(), "stipple-demo-"));
const tensor = (shape, seed) => {
  const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.7548776662 + seed));
  return writeNpy(shape, data);
};
writeFileSync(join(dir, "q.npy"), tensor([4, 384, 64], 1));
writeFileSync(join(dir, "k.npy"), tensor([2, 512, 64], 2));
writeFileSync(join(dir, "v.npy"), tensor([2, 512, 64], 3));
cli(["run", "examples/a_shape.stip", "--param", "sink=16", "--param", "window=128",
  "--q", join(dir, "q.npy"), "--k", join(dir, "k.npy"), "--v", join(dir, "v.npy"), "--out", join(dir, "out.npy"), "--lse", join(dir, "lse.npy"), "--check"]);
process.stdout.write(`\noutputs in ${dir}\n`);
