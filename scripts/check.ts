/**
 * The checks that run before the test suite (`npm test` runs this, then `bun test`): types,
 * formatting (prettier, zig fmt), the CI workflow (actionlint, built by `scripts/actionlint` on
 * first use, which needs Go), the Zig tests, and the cross-builds for every shipped platform.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { run } from "./build.ts";

const root = resolve(import.meta.dir, "..");
const zig = join(root, "scripts", "zig");

const steps: [string, string[], string][] = [
  ["TypeScript types", [join(root, "node_modules", ".bin", "tsc"), "--noEmit", "-p", "."], root],
  ["TypeScript formatting", [join(root, "node_modules", ".bin", "prettier"), "--check", "--log-level", "warn", "."], root],
  ["Zig formatting", [zig, "fmt", "--check", "."], join(root, "zig")],
  ["GitHub Actions workflows (actionlint)", [join(root, "scripts", "actionlint")], root],
  ["Zig tests (Debug and the shipped mode)", [zig, "build", "test", "--summary", "all"], join(root, "zig")],
  ["Cross-builds (4 shipped platforms, BSD tests)", [zig, "build", "cross", "--summary", "all"], join(root, "zig")],
];

for (const [name, command, cwd] of steps) {
  console.log(`\n== ${name}`);
  run(command, cwd);
}
console.log("\nAll checks passed.");
