//! Builds libbun_reactor, the poller and UDP library that bun:ffi loads.
//!
//! - `zig build`: the library for this machine, in the shipped mode (`shipped_optimize`) unless
//!   `-Doptimize` says otherwise, installed as `zig-out/lib/<platform>/libbun_reactor.<so|dylib>`, where `<platform>` is
//!   Bun's `process.platform-process.arch` (`linux-x64`, `darwin-arm64`, …).
//! - `zig build test`: the Zig tests, in Debug and in the shipped mode: the library's own
//!   `std.debug.assert`s are checked only in the first, its code as shipped runs only in the second.
//! - `zig build cross`: the library for every platform the package ships, by cross-compilation,
//!   and the Zig tests compiled (not run) for macOS and FreeBSD, where kqueue is the backend.
//! - `zig build bench`: the benchmark's load generator and reference echo server (Linux), in
//!   `zig-out/bin/`.

const std = @import("std");

/// The mode the library ships in (the npm package's prebuilt libraries, `dist/udp-echo`).
///
/// ReleaseSafe, not ReleaseFast: its safety checks (bounds, integer casts and overflow,
/// `unreachable`, the library's own `std.debug.assert`s) stay on in the code users run, so a bug
/// panics with its place instead of corrupting a Bun process's memory through FFI. The price
/// was measured with `bun run bench --modes fast,safe` (bench/RESULTS.md, "The library's build
/// modes", 2026-12-05): udp-echo's CPU per echo with the library in ReleaseSafe over ReleaseFast,
/// median of 7 interleaved rounds, 1.028× for 64-byte datagrams and 0.998× for 1400-byte ones
/// (round to round 0.93-1.08×, on a shared machine): the echo's cost is in its JavaScript, not in
/// the library's few checks per batch.
const shipped_optimize: std.builtin.Optimize = .safe;

/// The platforms the npm package ships prebuilt, by Bun's names.
const shipped = [_]struct { platform: []const u8, query: std.Target.Query }{
    .{ .platform = "linux-x64", .query = .{ .cpu_arch = .x86_64, .os_tag = .linux } },
    .{ .platform = "linux-arm64", .query = .{ .cpu_arch = .aarch64, .os_tag = .linux } },
    .{ .platform = "darwin-x64", .query = .{ .cpu_arch = .x86_64, .os_tag = .macos } },
    .{ .platform = "darwin-arm64", .query = .{ .cpu_arch = .aarch64, .os_tag = .macos } },
};

/// The targets whose tests `zig build cross` compiles without running them.
const bsd_tests = [_]std.Target.Query{
    .{ .cpu_arch = .aarch64, .os_tag = .macos },
    .{ .cpu_arch = .x86_64, .os_tag = .freebsd },
};

pub fn build(b: *std.Build) void {
    // Baseline CPU features: the library (and the echo executable that embeds it) must run on
    // any machine of the same OS and architecture, not just on the one that built it.
    const target = b.standardTargetOptions(.{ .default_target = .{ .cpu_model = .baseline } });
    const optimize = b.option(std.builtin.Optimize, "optimize", "Optimization mode of the library (default: the shipped mode)") orelse shipped_optimize;
    // Compiled out unless asked for: the chaos test's library (`src/fault.zig`).
    const options = b.addOptions();
    options.addOption(bool, "fault_injection", b.option(bool, "fault-injection", "Inject system-call faults on request (chaos test)") orelse false);
    const build_options = options.createModule();

    installLibrary(b, b.getInstallStep(), target, optimize, build_options);

    const cross = b.step("cross", "Build the library for every shipped platform, and the tests for the BSDs");
    for (shipped) |entry| installLibrary(b, cross, b.resolveTargetQuery(entry.query), optimize, build_options);
    // The kqueue backend and the libc system-call layer cannot run on a Linux machine: compile
    // (not run) the whole Zig test suite for macOS and FreeBSD, so that the backend suite's
    // kqueue instance and every libc wrapper at least type-check against the contracts.
    for (bsd_tests) |query| {
        const bsd = b.addTest(.{ .root_module = b.createModule(.{
            .root_source_file = b.path("src/tests.zig"),
            .target = b.resolveTargetQuery(query),
            .optimize = .debug,
            .link_libc = true,
            .imports = &.{.{ .name = "build_options", .module = build_options }},
        }) });
        cross.dependOn(&bsd.step);
    }

    const bench = b.step("bench", "Build the benchmark's load generator and reference server");
    // Always ReleaseFast, whatever the library ships in: the reference is the fastest server a
    // user could write on the same calls, and the load generator must not be what limits a run.
    const bench_optimize: std.builtin.Optimize = .fast;
    const lib_module = b.createModule(.{
        .root_source_file = b.path("src/lib.zig"),
        .target = target,
        .optimize = bench_optimize,
        .imports = &.{.{ .name = "build_options", .module = build_options }},
    });
    for ([_][]const u8{ "loadgen", "echo-reference", "http-probe" }) |name| {
        const exe = b.addExecutable(.{
            .name = name,
            .root_module = b.createModule(.{
                .root_source_file = b.path(b.fmt("bench/{s}.zig", .{name})),
                .target = target,
                .optimize = bench_optimize,
                .imports = &.{.{ .name = "bun_reactor", .module = lib_module }},
            }),
        });
        bench.dependOn(&b.addInstallArtifact(exe, .{}).step);
    }

    const test_step = b.step("test", "Run the Zig tests, in Debug and in the shipped mode");
    for ([_]std.builtin.Optimize{ .debug, shipped_optimize }) |mode| {
        const tests = b.addTest(.{ .root_module = b.createModule(.{
            .root_source_file = b.path("src/tests.zig"),
            .target = target,
            .optimize = mode,
            .imports = &.{.{ .name = "build_options", .module = build_options }},
        }) });
        test_step.dependOn(&b.addRunArtifact(tests).step);
    }
}

fn platformName(target: std.Target) []const u8 {
    const os = switch (target.os.tag) {
        .linux => "linux",
        .macos => "darwin",
        .freebsd => "freebsd",
        else => @tagName(target.os.tag),
    };
    const arch = switch (target.cpu.arch) {
        .x86_64 => "x64",
        .aarch64 => "arm64",
        else => @tagName(target.cpu.arch),
    };
    return std.fmt.allocPrint(std.heap.page_allocator, "{s}-{s}", .{ os, arch }) catch @panic("out of memory");
}

fn installLibrary(
    b: *std.Build,
    step: *std.Build.Step,
    target: std.Build.ResolvedTarget,
    optimize: std.builtin.Optimize,
    build_options: *std.Build.Module,
) void {
    const lib = b.addLibrary(.{
        .name = "bun_reactor",
        .linkage = .dynamic,
        .root_module = b.createModule(.{
            .root_source_file = b.path("src/root.zig"),
            .target = target,
            .optimize = optimize,
            .strip = optimize != .debug,
            // libc only where the system calls go through it.
            .link_libc = target.result.os.tag != .linux,
            .imports = &.{.{ .name = "build_options", .module = build_options }},
        }),
    });
    const install = b.addInstallArtifact(lib, .{
        .dest_dir = .{ .override = .{ .custom = b.fmt("lib/{s}", .{platformName(target.result)}) } },
        .dest_sub_path = b.fmt("libbun_reactor{s}", .{target.result.dynamicLibSuffix()}),
    });
    step.dependOn(&install.step);
}
