import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // test/gpu needs an NVIDIA GPU: `npm run test:gpu` runs it (vitest.gpu.config.ts), and says so when it cannot.
    exclude: ["test/gpu/**", "**/node_modules/**"],
    testTimeout: 60_000,
    // Two cores on CI: forks keep the property tests and the CLI child processes from starving each other.
    pool: "forks",
  },
});
