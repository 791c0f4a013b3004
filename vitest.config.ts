import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // test/gpu needs an NVIDIA GPU: `npm run test:gpu` runs it (vitest.gpu.config.ts), and says so when it cannot.
    exclude: ["test/gpu/**", "**/node_modules/**"],
    testTimeout: 60_000,
    // Two cores on CI: forks keep the property tests and the CLI child processes from starving each other.
    pool: "forks",
    // Vitest's default is one worker fewer than the cores: on a 2-core machine, one file at a time. Most files
    // spend their time in one thread (SwiftShader's shader compiles, the reference, ptxas), so two files at
    // once use both cores.
    maxWorkers: 2,
  },
});
