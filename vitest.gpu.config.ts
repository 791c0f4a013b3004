import { defineConfig } from "vitest/config";

/** The GPU suites (`npm run test:gpu`): CUDA kernels executed on an NVIDIA GPU. */
export default defineConfig({
  test: {
    include: ["test/gpu/**/*.test.ts"],
    testTimeout: 600_000,
    pool: "forks",
  },
});
