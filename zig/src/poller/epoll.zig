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
const poller_api = @import("../poller.zig");

const assert = std.debug.assert;
const unexpected = sys.unexpected;

pub const name: []const u8 = "epoll";

pub fn open() poller_api.OpenError!abi.Poller {
    const rc = linux.epoll_create1(linux.EPOLL.CLOEXEC);
    const poll_fd: sys.fd_t = switch (linux.errno(rc)) {
        .SUCCESS => @intCast(rc),
        .MFILE => return error.ProcessFdQuotaExceeded,
        .NFILE => return error.SystemFdQuotaExceeded,
        .NOMEM => return error.SystemResources,
        .INVAL => |e| sys.bug(@src(), e), // the flags are the library's own
        else => |e| return unexpected(e),
    };
    errdefer sys.close(poll_fd) catch {};
    const waker_fd = try eventfd();
    errdefer sys.close(waker_fd) catch {};
    control(poll_fd, linux.EPOLL.CTL_ADD, waker_fd, abi.token_waker, linux.EPOLL.IN | linux.EPOLL.ET) catch |err| switch (err) {
        error.SystemResources, error.TooManyRegistrations, error.Unexpected => |e| return e,
        // Two fresh descriptors of the right kinds, the waker added once.
        error.BadDescriptor, error.InvalidArgument, error.AlreadyRegistered, error.NotRegistered => sys.bug(@src(), err),
        error.PermissionDenied, error.RegistrationLoop => sys.bug(@src(), err),
    };
    return .{ .fd = poll_fd, .waker_fd = waker_fd };
}

fn eventfd() poller_api.OpenError!sys.fd_t {
    const rc = linux.eventfd(0, linux.EFD.CLOEXEC | linux.EFD.NONBLOCK);
    return switch (linux.errno(rc)) {
        .SUCCESS => @intCast(rc),
        .MFILE => error.ProcessFdQuotaExceeded,
        .NFILE => error.SystemFdQuotaExceeded,
        .NOMEM, .NODEV => error.SystemResources,
        .INVAL => |e| sys.bug(@src(), e), // the flags are the library's own
        else => |e| unexpected(e),
    };
}

/// Closes both descriptors, even if the first fails, and reports the first failure.
pub fn close(poller: abi.Poller) sys.CloseError!void {
    const waker = sys.close(poller.waker_fd);
    const poll = sys.close(poller.fd);
    try waker;
    try poll;
}

fn epollEvents(interest: u32) u32 {
    assert(poller_api.validInterest(interest));
    var events: u32 = linux.EPOLL.ET;
    if (interest & abi.interest_readable != 0) events |= linux.EPOLL.IN;
    if (interest & abi.interest_writable != 0) events |= linux.EPOLL.OUT;
    return events;
}

fn control(poll_fd: sys.fd_t, op: u32, fd: sys.fd_t, token: u64, events: u32) poller_api.ControlError!void {
    // Kernels before 2.6.9 required a non-null event even for EPOLL_CTL_DEL.
    var event = linux.epoll_event{ .events = events, .data = .{ .u64 = token } };
    return switch (linux.errno(linux.epoll_ctl(poll_fd, op, fd, &event))) {
        .SUCCESS => {},
        .BADF => error.BadDescriptor,
        .INVAL => error.InvalidArgument, // e.g. the poller's own descriptor
        .EXIST => error.AlreadyRegistered,
        .NOENT => error.NotRegistered,
        .PERM => error.PermissionDenied, // a descriptor epoll cannot watch, e.g. a regular file
        .LOOP => error.RegistrationLoop,
        .NOMEM => error.SystemResources,
        .NOSPC => error.TooManyRegistrations, // /proc/sys/fs/epoll/max_user_watches
        .FAULT => |e| sys.bug(@src(), e), // `event` is the library's own memory
        else => |e| unexpected(e),
    };
}

pub fn register(poller: abi.Poller, fd: sys.fd_t, token: u64, interest: u32) poller_api.ControlError!void {
    assert(token != abi.token_waker);
    return control(poller.fd, linux.EPOLL.CTL_ADD, fd, token, epollEvents(interest));
}

pub fn reregister(poller: abi.Poller, fd: sys.fd_t, token: u64, interest: u32) poller_api.ControlError!void {
    assert(token != abi.token_waker);
    return control(poller.fd, linux.EPOLL.CTL_MOD, fd, token, epollEvents(interest));
}

pub fn deregister(poller: abi.Poller, fd: sys.fd_t) poller_api.ControlError!void {
    return control(poller.fd, linux.EPOLL.CTL_DEL, fd, 0, 0);
}

/// Waits up to `timeout_ms` (negative: without limit) for events and stores at most
/// `events.len` of them. An interrupted wait is resumed with the time that is left.
pub fn wait(poller: abi.Poller, events: []abi.Event, timeout_ms: i32) poller_api.WaitError!usize {
    assert(events.len > 0 and events.len <= abi.events_max);
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
            .BADF => return error.BadDescriptor,
            .INVAL => return error.InvalidArgument, // not an epoll descriptor
            .FAULT => |e| sys.bug(@src(), e), // `raw` is the library's own memory
            else => |e| return unexpected(e),
        }
    };
    sys.checkKernel(count <= events.len, @src(), "epoll_wait");
    for (raw[0..count], events[0..count]) |source, *event| {
        const token = source.data.u64;
        if (token == abi.token_waker) drainWaker(poller);
        event.* = .{ .token = token, .flags = eventFlags(source.events) };
    }
    return count;
}

fn eventFlags(events: u32) u32 {
    var flags: u32 = 0;
    if (events & linux.EPOLL.IN != 0) flags |= abi.event_readable;
    if (events & linux.EPOLL.OUT != 0) flags |= abi.event_writable;
    if (events & linux.EPOLL.ERR != 0) flags |= abi.event_error;
    if (events & (linux.EPOLL.HUP | linux.EPOLL.RDHUP) != 0) flags |= abi.event_hangup;
    return flags;
}

/// Resets the eventfd counter so that the next `wake` makes a new edge. It may already be zero
/// (a wake raced with this wait), which is the state we want anyway.
fn drainWaker(poller: abi.Poller) void {
    var counter: [8]u8 = undefined;
    _ = sys.read(poller.waker_fd, &counter) catch {};
}

/// Interrupts a wait in progress on another thread, or makes the next wait return at once.
/// Safe to call from any thread.
pub fn wake(poller: abi.Poller) poller_api.WakeError!void {
    const one = std.mem.toBytes(@as(u64, 1));
    _ = sys.write(poller.waker_fd, &one) catch |err| switch (err) {
        error.WouldBlock => {}, // the counter is saturated, so a wake is already pending
        error.BadDescriptor, error.Unexpected => |e| return e,
        error.BrokenPipe => sys.bug(@src(), err), // an eventfd has no reader to lose
    };
}
