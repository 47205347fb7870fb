/// <reference types="vitest/config" />
import { defineConfig } from "vite";

// Tauri loads the dev server from a fixed port and the built files from ui/dist.
// `base: "./"` keeps asset URLs relative so dist also opens from the file system.
export default defineConfig({
  base: "./",
  clearScreen: false,
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  server: { port: 5173, strictPort: true, host: "127.0.0.1" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
  },
});
