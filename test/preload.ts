// Loaded by `bun test` before any test file (see bunfig.toml): makes sure the native library
// is built from the current sources. An up-to-date build takes a few milliseconds.
import { buildNative } from "../scripts/build.ts";

buildNative();
