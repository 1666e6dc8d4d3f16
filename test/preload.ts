// Loaded by `bun test` before any test file (see bunfig.toml): makes sure the native library
// is built from the current sources. An up-to-date build takes a few milliseconds.
import { setDefaultTimeout } from "bun:test";
import { buildNative } from "../scripts/build.ts";

buildNative();

// End-to-end tests start real processes and wait on real sockets, on machines that may be
// loaded: a minute for each test and hook, not Bun's default 5 s. Bun 1.4.4 ignores
// bunfig.toml's `[test] timeout`, and applies this default to the first test file of a run
// only (every later file gets 5 s again), so `npm test` also passes `--timeout 60000`; this
// line covers `bun test` of a single file.
setDefaultTimeout(60_000);
