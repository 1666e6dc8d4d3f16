//! One behaviour suite for every poller backend, written once (libxev's habit):
//! `Suite(Backend)` holds the tests, and `tests.zig` instantiates it for each backend that runs
//! on the machine (epoll on Linux, kqueue on macOS and FreeBSD). The other backends' suites are
//! compiled, not run, by `zig build cross`.
//!
//! Sockets bind to 127.0.0.1:0 (or [::1]:0), and every descriptor the tests meet is checked to
//! be non-blocking and close-on-exec. Each test narrates its steps.

const std = @import("std");
const builtin = @import("builtin");
const abi = @import("../abi.zig");
const sys = @import("../sys.zig");
const udp = @import("../udp.zig");
const poller_api = @import("../poller.zig");

const testing = std.testing;
const os = if (builtin.os.tag == .linux) std.os.linux else std.c;

/// Fails unless `fd` is close-on-exec, and also non-blocking when `nonblocking` is set.
pub fn expectDescriptorFlags(fd: sys.fd_t, nonblocking: bool) !void {
    const status: u32 = @intCast(os.fcntl(fd, os.F.GETFL, @as(usize, 0)));
    const nonblock: u32 = @bitCast(os.O{ .NONBLOCK = true });
    if (nonblocking) try testing.expect(status & nonblock != 0);
    const fd_flags: u32 = @intCast(os.fcntl(fd, os.F.GETFD, @as(usize, 0)));
    try testing.expect(fd_flags & os.FD_CLOEXEC != 0);
}

fn loopback(family: u16) abi.Address {
    var address = std.mem.zeroes(abi.Address);
    address.family = family;
    if (family == 4) address.bytes[0..4].* = .{ 127, 0, 0, 1 } else address.bytes[15] = 1;
    return address;
}

/// A UDP socket bound to the loopback address of `family`, on a port the kernel picks.
const Bound = struct {
    fd: sys.fd_t,
    address: abi.Address,

    fn open(family: u16) !Bound {
        const fd = try udp.open(family);
        errdefer sys.close(fd) catch {};
        try expectDescriptorFlags(fd, true);
        var address = loopback(family);
        try udp.bind(fd, &address);
        try udp.localAddress(fd, &address);
        try testing.expect(address.port != 0);
        return .{ .fd = fd, .address = address };
    }

    fn close(self: Bound) void {
        sys.close(self.fd) catch unreachable;
    }

    fn send(self: Bound, to: Bound, payload: []const u8) !void {
        try testing.expectEqual(payload.len, try udp.sendTo(self.fd, payload, &to.address));
    }
};

fn sleepMs(ms: u32) void {
    const duration = os.timespec{ .sec = @intCast(ms / 1000), .nsec = @intCast((ms % 1000) * std.time.ns_per_ms) };
    _ = os.nanosleep(&duration, null);
}

pub fn Suite(comptime Backend: type) type {
    return struct {
        const Poller = poller_api.Poller(Backend);

        fn openPoller() !abi.Poller {
            const poller = try Poller.open();
            errdefer Poller.close(poller) catch {};
            try expectDescriptorFlags(poller.fd, false);
            if (poller.waker_fd >= 0) try expectDescriptorFlags(poller.waker_fd, true);
            return poller;
        }

        fn closePoller(poller: abi.Poller) void {
            Poller.close(poller) catch unreachable;
        }

        test "a wait with nothing ready times out with no events" {
            const poller = try openPoller();
            defer closePoller(poller);
            var events: [8]abi.Event = undefined;
            const before = sys.monotonicMs();
            try testing.expectEqual(0, try Poller.wait(poller, &events, 30));
            try testing.expect(sys.monotonicMs() - before >= 29);
        }

        test "a datagram sent to a registered socket makes it readable under its token, once" {
            for ([_]u16{ 4, 6 }) |family| {
                const poller = try openPoller();
                defer closePoller(poller);
                const receiver = try Bound.open(family);
                defer receiver.close();
                const sender = try Bound.open(family);
                defer sender.close();
                var events: [8]abi.Event = undefined;

                // Registered for reading only: nothing is readable yet.
                try Poller.register(poller, receiver.fd, 42, abi.interest_readable);
                try testing.expectEqual(0, try Poller.wait(poller, &events, 0));

                // A datagram arrives: now the socket is readable, reported under token 42.
                try sender.send(receiver, "hello");
                try testing.expectEqual(1, try Poller.wait(poller, &events, 1000));
                try testing.expectEqual(@as(u64, 42), events[0].token);
                try testing.expect(events[0].flags & abi.event_readable != 0);

                // Edge-triggered: the same readiness is not reported twice.
                try testing.expectEqual(0, try Poller.wait(poller, &events, 0));
            }
        }

        test "a socket registered for both directions reports that it is writable, not readable" {
            const poller = try openPoller();
            defer closePoller(poller);
            const socket = try Bound.open(4);
            defer socket.close();
            var events: [8]abi.Event = undefined;
            try Poller.register(poller, socket.fd, 7, abi.interest_all);
            try testing.expectEqual(1, try Poller.wait(poller, &events, 1000));
            try testing.expectEqual(@as(u64, 7), events[0].token);
            try testing.expect(events[0].flags & abi.event_writable != 0);
            try testing.expect(events[0].flags & abi.event_readable == 0);
        }

        test "reregister changes the interest and the token, and deregister stops events" {
            const poller = try openPoller();
            defer closePoller(poller);
            const receiver = try Bound.open(4);
            defer receiver.close();
            const sender = try Bound.open(4);
            defer sender.close();
            var events: [8]abi.Event = undefined;

            // Registered for writing only, the socket is reported writable.
            try Poller.register(poller, receiver.fd, 1, abi.interest_writable);
            try testing.expectEqual(1, try Poller.wait(poller, &events, 1000));
            try testing.expectEqual(@as(u64, 1), events[0].token);

            // Reregistered for reading under a new token: a datagram is reported under it.
            try Poller.reregister(poller, receiver.fd, 2, abi.interest_readable);
            try sender.send(receiver, "x");
            try testing.expectEqual(1, try Poller.wait(poller, &events, 1000));
            try testing.expectEqual(@as(u64, 2), events[0].token);
            try testing.expect(events[0].flags & abi.event_writable == 0);

            // Deregistered: another datagram arrives, and the poller says nothing.
            try Poller.deregister(poller, receiver.fd);
            try sender.send(receiver, "y");
            try testing.expectEqual(0, try Poller.wait(poller, &events, 50));
        }

        test "a descriptor registered twice is refused, and reregistering an unknown one too" {
            const poller = try openPoller();
            defer closePoller(poller);
            const socket = try Bound.open(4);
            defer socket.close();
            const sender = try Bound.open(4);
            defer sender.close();
            var events: [8]abi.Event = undefined;

            // Not registered yet: it can be neither reregistered nor deregistered.
            try testing.expectError(error.NotRegistered, Poller.reregister(poller, socket.fd, 1, abi.interest_readable));
            try testing.expectError(error.NotRegistered, Poller.deregister(poller, socket.fd));

            // Registered once; a second registration is refused, whatever its interest.
            try Poller.register(poller, socket.fd, 1, abi.interest_readable);
            try testing.expectError(error.AlreadyRegistered, Poller.register(poller, socket.fd, 1, abi.interest_readable));
            try testing.expectError(error.AlreadyRegistered, Poller.register(poller, socket.fd, 1, abi.interest_all));

            // The first registration still holds: a datagram is reported under its token.
            try sender.send(socket, "z");
            try testing.expectEqual(1, try Poller.wait(poller, &events, 1000));
            try testing.expectEqual(@as(u64, 1), events[0].token);

            // Once deregistered, it can be registered again.
            try Poller.deregister(poller, socket.fd);
            try testing.expectError(error.NotRegistered, Poller.deregister(poller, socket.fd));
            try Poller.register(poller, socket.fd, 3, abi.interest_readable);
        }

        test "bad interests, the reserved token, bad descriptors and empty event buffers are refused" {
            const poller = try openPoller();
            defer closePoller(poller);
            const socket = try Bound.open(4);
            defer socket.close();
            try testing.expectError(error.InvalidArgument, Poller.register(poller, socket.fd, 1, 0));
            try testing.expectError(error.InvalidArgument, Poller.register(poller, socket.fd, 1, 8));
            try testing.expectError(error.InvalidArgument, Poller.register(poller, socket.fd, abi.token_waker, 1));
            try testing.expectError(error.InvalidArgument, Poller.reregister(poller, socket.fd, 1, 0));
            try testing.expectError(error.BadDescriptor, Poller.register(poller, -1, 1, 1));
            try testing.expectError(error.BadDescriptor, Poller.deregister(poller, -1));
            var events: [1]abi.Event = undefined;
            try testing.expectError(error.InvalidArgument, Poller.wait(poller, events[0..0], 0));
        }

        fn wakeAfter(poller: abi.Poller, delay_ms: u32) void {
            sleepMs(delay_ms);
            Poller.wake(poller) catch unreachable;
        }

        test "the waker interrupts a blocking wait from another thread" {
            const poller = try openPoller();
            defer closePoller(poller);
            var events: [4]abi.Event = undefined;

            // A wait without timeout would block forever; another thread wakes it after 20 ms.
            const thread = try std.Thread.spawn(.{}, wakeAfter, .{ poller, 20 });
            defer thread.join();
            try testing.expectEqual(1, try Poller.wait(poller, &events, -1));
            try testing.expectEqual(abi.token_waker, events[0].token);

            // The wake was consumed: the next wait times out.
            try testing.expectEqual(0, try Poller.wait(poller, &events, 10));
        }

        test "wakes before the wait make the next wait return at once, with one event" {
            const poller = try openPoller();
            defer closePoller(poller);
            var events: [4]abi.Event = undefined;
            try Poller.wake(poller);
            try Poller.wake(poller);
            try testing.expectEqual(1, try Poller.wait(poller, &events, 1000));
            try testing.expectEqual(0, try Poller.wait(poller, &events, 0));
        }
    };
}
