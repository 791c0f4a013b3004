import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    // Two cores on CI: forks keep the property tests and the CLI child processes from starving each other.
    pool: "forks",
  },
});
