import { defineConfig } from "vite";

// The live preview frame's one script (src/preview/frame/main.ts): a single classic script that the
// server inlines into /preview/frame with its hash in that page's Content-Security-Policy. Built
// after the app (`npm run build`), into the same dist/ without emptying it.
export default defineConfig({
  publicDir: false,
  build: {
    outDir: "dist",
    emptyOutDir: false,
    sourcemap: false,
    lib: {
      entry: "src/preview/frame/main.ts",
      formats: ["iife"],
      name: "waylinePreviewFrame",
      fileName: () => "preview-frame.js",
    },
  },
});
