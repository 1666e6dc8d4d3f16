//! The poller: readiness of many descriptors, reported under caller-chosen tokens.
//!
//! One backend per OS, chosen here and nowhere else. Each backend must export:
//!
//! - `name`: the backend's name, shown by the echo server's ready line.
//! - `open(*abi.Poller) isize`: creates the poller and its waker.
//! - `close(abi.Poller) isize`: releases both.
//! - `register(abi.Poller, fd, token, interest) isize`: edge-triggered readiness of `fd` for
//!   `interest`, reported under `token`.
//! - `reregister(abi.Poller, fd, token, interest) isize`: replaces a registration.
//! - `deregister(abi.Poller, fd) isize`: stops reporting `fd`.
//! - `wait(abi.Poller, []abi.Event, timeout_ms: i32) isize`: blocks until an event or the
//!   timeout (negative: none) and returns how many events it stored.
//! - `wake(abi.Poller) isize`: makes a wait in progress on any thread return, reporting an
//!   event under `abi.token_waker`.
//!
//! All return `-errno` on failure, like `sys`. The checks on arguments that do not depend on the
//! OS (interest bits, the reserved token, the size of the event buffer) are made once, here.

const std = @import("std");
const builtin = @import("builtin");
const abi = @import("abi.zig");
const sys = @import("sys.zig");

const Backend = switch (builtin.os.tag) {
    .linux => @import("poller/epoll.zig"),
    .macos, .freebsd => @import("poller/kqueue.zig"),
    else => @compileError("bun-reactor has no poller for this OS"),
};

comptime {
    for (.{ "name", "open", "close", "register", "reregister", "deregister", "wait", "wake" }) |decl| {
        if (!@hasDecl(Backend, decl)) @compileError("poller backend is missing `" ++ decl ++ "`");
    }
}

pub const name: []const u8 = Backend.name;

pub fn open(poller: *abi.Poller) isize {
    return Backend.open(poller);
}

pub fn close(poller: abi.Poller) isize {
    return Backend.close(poller);
}

fn validInterest(interest: u32) bool {
    return interest != 0 and interest & ~abi.interest_all == 0;
}

pub fn register(poller: abi.Poller, fd: i32, token: u64, interest: u32) isize {
    if (!validInterest(interest) or token == abi.token_waker) return sys.fail(.INVAL);
    return Backend.register(poller, fd, token, interest);
}

pub fn reregister(poller: abi.Poller, fd: i32, token: u64, interest: u32) isize {
    if (!validInterest(interest) or token == abi.token_waker) return sys.fail(.INVAL);
    return Backend.reregister(poller, fd, token, interest);
}

pub fn deregister(poller: abi.Poller, fd: i32) isize {
    return Backend.deregister(poller, fd);
}

/// Events beyond `abi.events_max` are left for the next wait, not dropped: the kernel keeps
/// them queued.
pub fn wait(poller: abi.Poller, events: []abi.Event, timeout_ms: i32) isize {
    if (events.len == 0) return sys.fail(.INVAL);
    const capacity = @min(events.len, abi.events_max);
    return Backend.wait(poller, events[0..capacity], timeout_ms);
}

pub fn wake(poller: abi.Poller) isize {
    return Backend.wake(poller);
}
