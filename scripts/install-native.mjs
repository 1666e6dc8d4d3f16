// Runs when bun-reactor is installed with npm: makes sure the native library exists for this
// platform. The npm package ships it prebuilt for linux-x64, linux-arm64, darwin-x64 and
// darwin-arm64; on any other platform it is built here if a Zig 0.17.0 compiler is present
// (the ZIG environment variable, or `zig` on PATH). In a git checkout it does nothing: the
// project's build step builds the library (`bun run build`).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const platform = `${process.platform}-${process.arch}`;
const library = join(root, "zig", "zig-out", "lib", platform, `libbun_reactor.${process.platform === "darwin" ? "dylib" : "so"}`);

if (!existsSync(join(root, ".git")) && !existsSync(library)) {
  const onPath = spawnSync("zig", ["version"], { encoding: "utf8" });
  const zig = process.env.ZIG ?? (onPath.status === 0 ? "zig" : null);
  if (zig === null) {
    console.warn(
      `bun-reactor: there is no prebuilt native library for ${platform}, and no Zig compiler to build one ` +
        "(set ZIG or put Zig 0.17.0 on PATH, then reinstall).",
    );
  } else {
    const built = spawnSync(zig, ["build"], { cwd: join(root, "zig"), stdio: "inherit" });
    if (built.status !== 0) console.warn(`bun-reactor: building the native library with ${zig} failed (it needs Zig 0.17.0).`);
  }
}
