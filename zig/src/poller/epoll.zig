//! The epoll backend of the poller (Linux).
//!
//! Registrations are edge-triggered: an event says that readiness *changed*, so the reactor
//! above must drain a source until it would block before it waits again. The waker is an
//! eventfd registered under `abi.token_waker`; it is reported like any other event so that a
//! caller can tell a woken wait from a timeout.

const std = @import("std");
const linux = std.os.linux;
const abi = @import("../abi.zig");
const sys = @import("../sys.zig");

pub const name = "epoll";

fn result(rc: usize) isize {
    return @bitCast(rc);
}

pub fn open(poller: *abi.Poller) isize {
    const poll_fd = result(linux.epoll_create1(linux.EPOLL.CLOEXEC));
    if (poll_fd < 0) return poll_fd;
    const waker_fd = result(linux.eventfd(0, linux.EFD.CLOEXEC | linux.EFD.NONBLOCK));
    if (waker_fd < 0) {
        _ = sys.close(@intCast(poll_fd));
        return waker_fd;
    }
    var event = linux.epoll_event{
        .events = linux.EPOLL.IN | linux.EPOLL.ET,
        .data = .{ .u64 = abi.token_waker },
    };
    const added = result(linux.epoll_ctl(@intCast(poll_fd), linux.EPOLL.CTL_ADD, @intCast(waker_fd), &event));
    if (added < 0) {
        _ = sys.close(@intCast(waker_fd));
        _ = sys.close(@intCast(poll_fd));
        return added;
    }
    poller.* = .{ .fd = @intCast(poll_fd), .waker_fd = @intCast(waker_fd) };
    return 0;
}

/// Closes both descriptors, even if the first fails, and reports the first failure.
pub fn close(poller: abi.Poller) isize {
    const waker = sys.close(poller.waker_fd);
    const poll = sys.close(poller.fd);
    return if (waker < 0) waker else poll;
}

fn epollEvents(interest: u32) u32 {
    var events: u32 = linux.EPOLL.ET;
    if (interest & abi.interest_readable != 0) events |= linux.EPOLL.IN;
    if (interest & abi.interest_writable != 0) events |= linux.EPOLL.OUT;
    return events;
}

fn control(poller: abi.Poller, op: u32, fd: i32, token: u64, interest: u32) isize {
    var event = linux.epoll_event{ .events = epollEvents(interest), .data = .{ .u64 = token } };
    return result(linux.epoll_ctl(poller.fd, op, fd, &event));
}

pub fn register(poller: abi.Poller, fd: i32, token: u64, interest: u32) isize {
    return control(poller, linux.EPOLL.CTL_ADD, fd, token, interest);
}

pub fn reregister(poller: abi.Poller, fd: i32, token: u64, interest: u32) isize {
    return control(poller, linux.EPOLL.CTL_MOD, fd, token, interest);
}

pub fn deregister(poller: abi.Poller, fd: i32) isize {
    // Kernels before 2.6.9 required a non-null event even for EPOLL_CTL_DEL.
    return control(poller, linux.EPOLL.CTL_DEL, fd, 0, 0);
}

/// Waits up to `timeout_ms` (negative: without limit) for events and stores at most
/// `events.len` of them. An interrupted wait is resumed with the time that is left.
pub fn wait(poller: abi.Poller, events: []abi.Event, timeout_ms: i32) isize {
    std.debug.assert(events.len > 0 and events.len <= abi.events_max);
    var raw: [abi.events_max]linux.epoll_event = undefined;
    const deadline_ms = sys.monotonicMs() + timeout_ms;
    var timeout_left_ms = timeout_ms;
    const count: usize = while (true) {
        const rc = linux.epoll_wait(poller.fd, &raw, @intCast(events.len), timeout_left_ms);
        switch (linux.errno(rc)) {
            .SUCCESS => break rc,
            .INTR => if (timeout_ms >= 0) {
                const left = deadline_ms - sys.monotonicMs();
                timeout_left_ms = @intCast(std.math.clamp(left, 0, timeout_ms));
            },
            else => return result(rc),
        }
    };
    for (raw[0..count], events[0..count]) |source, *event| {
        const token = source.data.u64;
        if (token == abi.token_waker) drainWaker(poller);
        event.* = .{ .token = token, .flags = eventFlags(source.events) };
    }
    return @intCast(count);
}

fn eventFlags(events: u32) u32 {
    var flags: u32 = 0;
    if (events & linux.EPOLL.IN != 0) flags |= abi.event_readable;
    if (events & linux.EPOLL.OUT != 0) flags |= abi.event_writable;
    if (events & linux.EPOLL.ERR != 0) flags |= abi.event_error;
    if (events & (linux.EPOLL.HUP | linux.EPOLL.RDHUP) != 0) flags |= abi.event_hangup;
    return flags;
}

/// Resets the eventfd counter so that the next `wake` makes a new edge.
fn drainWaker(poller: abi.Poller) void {
    var counter: [8]u8 = undefined;
    _ = sys.read(poller.waker_fd, &counter);
}

/// Interrupts a wait in progress on another thread, or makes the next wait return at once.
/// Safe to call from any thread.
pub fn wake(poller: abi.Poller) isize {
    const one = std.mem.toBytes(@as(u64, 1));
    const rc = sys.write(poller.waker_fd, &one);
    // EAGAIN: the counter is saturated, so a wake is already pending.
    if (sys.errnoOf(rc) == .AGAIN) return 0;
    return if (rc < 0) rc else 0;
}
