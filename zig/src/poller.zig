//! The poller: readiness of many descriptors, reported under caller-chosen tokens.
//!
//! One backend per OS, chosen here and nowhere else (`Selected`). Each backend must export the
//! declarations of `Contract` with exactly its types, checked at `comptime` by `Poller`:
//!
//! - `name`: the backend's name, shown by the echo server's ready line.
//! - `open`: creates the poller and its waker; `close` releases both.
//! - `register(poller, fd, token, interest)`: edge-triggered readiness of `fd` for `interest`,
//!   reported under `token`; `error.AlreadyRegistered` if `fd` is registered already.
//! - `reregister`: replaces a registration; `error.NotRegistered` if there is none.
//! - `deregister(poller, fd)`: stops reporting `fd`; `error.NotRegistered` if it was not.
//! - `wait(poller, events, timeout_ms)`: blocks until an event or the timeout (negative: none)
//!   and returns how many events it stored.
//! - `wake(poller)`: makes a wait in progress on any thread return, reporting an event under
//!   `abi.token_waker`.
//!
//! The checks on arguments that do not depend on the OS (interest bits, the reserved token,
//! the size of the event buffer) are made once, in `Poller`; the backends assert them.

const std = @import("std");
const builtin = @import("builtin");
const abi = @import("abi.zig");
const fault = @import("fault.zig");
const sys = @import("sys.zig");

const assert = std.debug.assert;

pub const OpenError = error{ ProcessFdQuotaExceeded, SystemFdQuotaExceeded, SystemResources, TooManyRegistrations, Unexpected };
pub const ControlError = error{ BadDescriptor, InvalidArgument, AlreadyRegistered, NotRegistered, PermissionDenied, RegistrationLoop, SystemResources, TooManyRegistrations, Unexpected };
pub const WaitError = error{ BadDescriptor, InvalidArgument, Unexpected };
pub const WakeError = error{ BadDescriptor, Unexpected };

/// The declarations every backend exports, with their exact types.
pub const Contract = struct {
    name: []const u8,
    open: fn () OpenError!abi.Poller,
    close: fn (poller: abi.Poller) sys.CloseError!void,
    register: fn (poller: abi.Poller, fd: sys.fd_t, token: u64, interest: u32) ControlError!void,
    reregister: fn (poller: abi.Poller, fd: sys.fd_t, token: u64, interest: u32) ControlError!void,
    deregister: fn (poller: abi.Poller, fd: sys.fd_t) ControlError!void,
    wait: fn (poller: abi.Poller, events: []abi.Event, timeout_ms: i32) WaitError!usize,
    wake: fn (poller: abi.Poller) WakeError!void,
};

/// Whether `interest` names at least one direction and nothing else: what backends may assert.
pub fn validInterest(interest: u32) bool {
    return interest != 0 and interest & ~abi.interest_all == 0;
}

/// The poller over `Backend`, with the argument checks every backend shares.
pub fn Poller(comptime Backend: type) type {
    comptime sys.checkContract(Backend, Contract, "poller");
    return struct {
        pub const name: []const u8 = Backend.name;

        pub fn open() OpenError!abi.Poller {
            return Backend.open();
        }

        pub fn close(poller: abi.Poller) sys.CloseError!void {
            return Backend.close(poller);
        }

        pub fn register(poller: abi.Poller, fd: sys.fd_t, token: u64, interest: u32) ControlError!void {
            if (!validInterest(interest) or token == abi.token_waker) return error.InvalidArgument;
            return Backend.register(poller, fd, token, interest);
        }

        pub fn reregister(poller: abi.Poller, fd: sys.fd_t, token: u64, interest: u32) ControlError!void {
            if (!validInterest(interest) or token == abi.token_waker) return error.InvalidArgument;
            return Backend.reregister(poller, fd, token, interest);
        }

        pub fn deregister(poller: abi.Poller, fd: sys.fd_t) ControlError!void {
            return Backend.deregister(poller, fd);
        }

        /// Events beyond `abi.events_max` are left for the next wait, not dropped: the kernel
        /// keeps them queued.
        pub fn wait(poller: abi.Poller, events: []abi.Event, timeout_ms: i32) WaitError!usize {
            if (events.len == 0) return error.InvalidArgument;
            // A `-Dfault-injection` build may return at once with no event (`fault.zig`).
            if (fault.enabled and fault.beforeWait()) return 0;
            const capacity = @min(events.len, abi.events_max);
            const count = try Backend.wait(poller, events[0..capacity], timeout_ms);
            assert(count <= capacity);
            return count;
        }

        pub fn wake(poller: abi.Poller) WakeError!void {
            return Backend.wake(poller);
        }
    };
}

/// The poller of this OS.
pub const Selected = Poller(switch (builtin.os.tag) {
    .linux => @import("poller/epoll.zig"),
    .macos, .freebsd => @import("poller/kqueue.zig"),
    else => @compileError("bun-reactor has no poller for this OS"),
});

pub const name = Selected.name;
pub const open = Selected.open;
pub const close = Selected.close;
pub const register = Selected.register;
pub const reregister = Selected.reregister;
pub const deregister = Selected.deregister;
pub const wait = Selected.wait;
pub const wake = Selected.wake;
