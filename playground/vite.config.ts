import { defineConfig } from "vite";

// The playground is a static page: `npm run build:playground` writes playground/dist/ (served from localhost by
// the Chromium test, or by `npm run playground`). It imports the compiler's browser-safe modules directly.
export default defineConfig({
  root: "playground",
  base: "./",
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
  server: { port: 5173 },
});
