/**
 * bench/RESULTS.md holds every benchmark's results: the echo's tables at the top (written by
 * bench/run.ts, which keeps the sections below), then one section per other benchmark, each
 * between its own markers so that a new run replaces only its own.
 *
 * @module
 */
import { join } from "node:path";

const path = join(import.meta.dir, "RESULTS.md");

/**
 * Puts `section` into bench/RESULTS.md between the markers of benchmark `name` (in place of a
 * previous run's), leaving everything else as it is.
 *
 * @example
 * ```ts
 * await writeSection("runtime", "## The runtime's own cost\n\n| … |");
 * ```
 */
export async function writeSection(name: string, section: string): Promise<void> {
  const begin = `<!-- bench:${name} begin -->`;
  const end = `<!-- bench:${name} end -->`;
  const file = Bun.file(path);
  const current = (await file.exists()) ? await file.text() : "# Benchmark results\n";
  const block = `${begin}\n${section.trim()}\n${end}`;
  const from = current.indexOf(begin);
  const to = current.indexOf(end);
  const next =
    from >= 0 && to > from
      ? current.slice(0, from) + block + current.slice(to + end.length)
      : `${current.trimEnd()}\n\n${block}\n`;
  await Bun.write(path, next);
  console.error("\nwritten to bench/RESULTS.md");
}
