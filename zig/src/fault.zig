//! Fault injection, for the chaos test (`zig build -Dfault-injection`): the receive, send and
//! wait wrappers fail on purpose, as the kernel may make them fail, so that the layers above
//! can be shown to account for every datagram anyway.
//!
//! Off, and compiled out, in normal builds: `enabled` is a `comptime` false there, so the
//! wrappers in `sys.zig` and `poller.zig` are the backends' own functions, with no branch.
//! A build with it injects nothing until `configure` gives it a seed and a rate.
//!
//! Determinism: draw `n` (counted across the whole process) depends only on the seed and `n`
//! (splitmix64 of `seed + n`), so the same seed gives the same faults in the same order of
//! calls. A counter taken atomically keeps it lock-free when a reactor thread waits while the
//! executor's thread sends.

const std = @import("std");
const build_options = @import("build_options");

const assert = std.debug.assert;

/// Whether this build can inject faults at all (`-Dfault-injection`).
pub const enabled: bool = build_options.fault_injection;

/// Where a fault can be injected.
pub const Point = enum(u32) { recv, send, wait };

/// What an injected fault does. `interrupted` is retried inside the wrapper, as a real EINTR
/// is; `partial` makes a batch send send fewer datagrams than asked.
pub const Fault = enum(u32) { interrupted, would_block, no_buffer_space, no_memory, partial };

const point_count = @typeInfo(Point).@"enum".field_names.len;
const fault_count = @typeInfo(Fault).@"enum".field_names.len;

/// The faults each point can meet.
fn faultsAt(point: Point) []const Fault {
    return switch (point) {
        .recv => &.{ .interrupted, .would_block, .no_buffer_space, .no_memory },
        .send => &.{ .interrupted, .would_block, .no_buffer_space, .no_memory, .partial },
        // epoll_wait and kevent fail with EINTR only; `would_block` is a wait that returns
        // early with no event, as a spurious wake-up does.
        .wait => &.{ .interrupted, .would_block },
    };
}

/// The rate is in faults per million calls.
pub const rate_ppm_max: u32 = 1_000_000;

var seed: u64 = 0;
var rate_ppm = std.atomic.Value(u32).init(0);
var draws = std.atomic.Value(u64).init(0);
var injected: [point_count][fault_count]std.atomic.Value(u64) = @splat(@splat(.init(0)));

/// Starts injecting: `rate_ppm` faults per million calls, chosen by `new_seed`. A rate of 0
/// stops. Counters and the sequence start again from zero.
pub fn configure(new_seed: u64, new_rate_ppm: u32) error{InvalidArgument}!void {
    if (new_rate_ppm > rate_ppm_max) return error.InvalidArgument;
    rate_ppm.store(0, .seq_cst);
    seed = new_seed;
    draws.store(0, .seq_cst);
    for (&injected) |*row| for (row) |*counter| counter.store(0, .seq_cst);
    rate_ppm.store(new_rate_ppm, .seq_cst);
}

var segmented_refused = std.atomic.Value(bool).init(false);

/// Makes every segmented send (a message with a UDP_SEGMENT control message) fail with EIO, as
/// on a device that cannot checksum segments, until turned off again. Independent of the rate.
pub fn refuseSegmented(on: bool) void {
    segmented_refused.store(on, .seq_cst);
}

/// Whether segmented sends are refused (see `refuseSegmented`).
pub fn segmentedRefused() bool {
    return segmented_refused.load(.monotonic);
}

/// How many faults of `fault` were injected at `point` since `configure`.
pub fn count(point: Point, fault: Fault) u64 {
    return injected[@backingInt(point)][@backingInt(fault)].load(.monotonic);
}

fn splitmix64(x: u64) u64 {
    var z = x +% 0x9e3779b97f4a7c15;
    z = (z ^ (z >> 30)) *% 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) *% 0x94d049bb133111eb;
    return z ^ (z >> 31);
}

/// One decision: a fault for `point`, or null. Also returns the random bits left over, for a
/// partial send to choose its count from.
pub fn draw(point: Point) ?struct { fault: Fault, bits: u32 } {
    const rate = rate_ppm.load(.monotonic);
    if (rate == 0) return null;
    const n = draws.fetchAdd(1, .monotonic);
    const bits = splitmix64(seed +% n);
    if (bits % rate_ppm_max >= rate) return null;
    const choices = faultsAt(point);
    const fault = choices[(bits >> 32) % choices.len];
    _ = injected[@backingInt(point)][@backingInt(fault)].fetchAdd(1, .monotonic);
    return .{ .fault = fault, .bits = @truncate(bits >> 40) };
}

/// Before a receive: the error to fail it with, if a fault is drawn. EINTR is retried here, as
/// the backends retry it: a draw is made again.
pub fn beforeRecv() error{ WouldBlock, NoBufferSpace, SystemResources }!void {
    while (draw(.recv)) |drawn| switch (drawn.fault) {
        .interrupted => continue,
        .would_block => return error.WouldBlock,
        .no_buffer_space => return error.NoBufferSpace,
        .no_memory => return error.SystemResources,
        .partial => unreachable, // not a receive fault (`faultsAt`)
    };
}

/// Before a send of `asked` datagrams: the error to fail it with, or how many to really send
/// (fewer than asked for a partial send, at least one).
pub fn beforeSend(asked: usize) error{ WouldBlock, NoBufferSpace, SystemResources }!usize {
    assert(asked > 0);
    while (draw(.send)) |drawn| switch (drawn.fault) {
        .interrupted => continue,
        .would_block => return error.WouldBlock,
        .no_buffer_space => return error.NoBufferSpace,
        .no_memory => return error.SystemResources,
        .partial => return if (asked == 1) asked else 1 + drawn.bits % (asked - 1),
    };
    return asked;
}

/// Before a wait: whether to return at once with no event (a spurious wake-up).
pub fn beforeWait() bool {
    while (draw(.wait)) |drawn| switch (drawn.fault) {
        .interrupted => continue,
        .would_block => return true,
        else => unreachable, // not a wait fault (`faultsAt`)
    };
    return false;
}

test "the same seed draws the same faults; another seed, others" {
    defer configure(0, 0) catch unreachable;
    var first: [2000]?Fault = undefined;
    var again: [2000]?Fault = undefined;
    var other: [2000]?Fault = undefined;
    for ([_]*[2000]?Fault{ &first, &again, &other }, [_]u64{ 7, 7, 8 }) |out, s| {
        try configure(s, 100_000); // one call in ten
        for (out) |*slot| slot.* = if (draw(.send)) |drawn| drawn.fault else null;
    }
    try std.testing.expectEqualSlices(?Fault, &first, &again);
    try std.testing.expect(!std.mem.eql(?Fault, &first, &other));
    // About one in ten, and every send fault among them.
    var faults: usize = 0;
    for (first) |slot| faults += @intFromBool(slot != null);
    try std.testing.expect(faults > 120 and faults < 280);
}

test "rate 0 injects nothing, and a rate above a million is refused" {
    try configure(1, 0);
    for (0..1000) |_| try std.testing.expect(draw(.recv) == null);
    try std.testing.expectError(error.InvalidArgument, configure(1, rate_ppm_max + 1));
}

test "a partial send sends at least one and fewer than asked; EINTR is retried inside" {
    defer configure(0, 0) catch unreachable;
    try configure(3, rate_ppm_max); // every call
    var partial = false;
    for (0..500) |_| {
        const sent = beforeSend(8) catch continue;
        try std.testing.expect(sent >= 1 and sent < 8);
        partial = true;
    }
    try std.testing.expect(partial);
    // At a rate of one, EINTR draws again until another fault comes: it is never returned.
    try std.testing.expect(count(.send, .interrupted) > 0);
}
