// Type-aware lint: strictTypeChecked catches floating promises that Biome misses.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const childProcessBan = {
  paths: [
    {
      name: "node:child_process",
      message: "husk owns its children through src/sys (a P_ALL reaper and libuv cannot share children).",
    },
    { name: "child_process", message: "use src/sys/spawn instead" },
  ],
};

export default tseslint.config(
  { ignores: ["dist/**", "src/gen/**", "native/**", "node_modules/**", "**/*.js", "**/*.cjs", "**/*.mjs"] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          allowForKnownSafeCalls: [
            {
              from: "package",
              package: "node:test",
              name: ["test", "describe", "it", "suite", "skip", "todo", "only"],
            },
          ],
        },
      ],
      "no-restricted-imports": ["error", childProcessBan],
    },
  },
  {
    // Tests may drive tools with child_process, but only in files that never start the reaper.
    files: ["test/**", "bench/**", "src/shim/start.ts"],
    rules: { "no-restricted-imports": "off" },
  },
);
