//! The benchmark's reference: a UDP echo server in Zig on epoll with recvmmsg/sendmmsg, the
//! practical limit of an echo on this machine, against which the other servers are measured.
//!
//! It uses the same library calls as the TypeScript runtime (`poller`, `udp.recvBatch`,
//! `udp.sendBatch`), so the difference between the two is the cost of the runtime itself.
//!
//! With `--offload` it receives with UDP_GRO and echoes each coalesced entry with one segmented
//! send (UDP_SEGMENT), the limit of an echo with offload; a kernel that refuses is an error.
//!
//! With `--polls` it also times its work as udp-echo's console times a poll: a stretch of draining
//! ends when the socket would block or after `turn_budget_ns` (udp-echo's turn budget, 0.5 ms)
//! and one batch more, and is counted over 1 ms when the wall clock says so. It prints the counts
//! so far every second: `polls N over-1ms M longest-us L`, for the benchmark's slow-poll control.
//!
//! Usage: echo-reference HOST PORT [--offload | --polls]. Prints `echo-reference listening on
//! HOST:PORT` (and ` (offload on)`) when ready; runs until killed.

const std = @import("std");
const lib = @import("bun_reactor");
const abi = lib.abi;
const linux = std.os.linux;

const batch = 64;
/// Large enough for any coalesced entry (`abi.coalesced_max`): 64 × 64 KiB = 4 MiB of slots.
const slot_size = 65536;

var payloads: [batch * slot_size]u8 = undefined;
var datagrams: [batch]abi.Datagram = undefined;

fn die(comptime format: []const u8, args: anytype) noreturn {
    var buffer: [512]u8 = undefined;
    const line = std.fmt.bufPrint(&buffer, "echo-reference: " ++ format ++ "\n", args) catch "echo-reference: error\n";
    _ = linux.write(2, line.ptr, line.len);
    linux.exit_group(1);
}

fn parseAddress(host: []const u8, port: u16) abi.Address {
    var address = std.mem.zeroes(abi.Address);
    address.port = port;
    if (std.mem.eql(u8, host, "::1")) {
        address.family = 6;
        address.bytes[15] = 1;
        return address;
    }
    address.family = 4;
    var parts = std.mem.splitScalar(u8, host, '.');
    for (0..4) |index| {
        const part = parts.next() orelse die("bad IPv4 address {s}", .{host});
        address.bytes[index] = std.fmt.parseInt(u8, part, 10) catch die("bad IPv4 address {s}", .{host});
    }
    return address;
}

/// Sends `count` datagrams, waiting for writability (in the poller) when the socket is full.
fn sendAll(poller: abi.Poller, fd: i32, count: usize) void {
    var next: usize = 0;
    while (next < count) {
        if (lib.udp.sendBatch(fd, payloads[next * slot_size ..], slot_size, datagrams[next..count])) |sent| {
            next += sent;
        } else |err| switch (err) {
            error.WouldBlock => {
                // Full: wait until writable (readable events met meanwhile are not lost: the
                // main loop drains the socket until it would block anyway).
                var events: [1]abi.Event = undefined;
                lib.poller.reregister(poller, fd, 1, abi.interest_all) catch |e| die("reregister: {t}", .{e});
                _ = lib.poller.wait(poller, &events, 100) catch |e| die("wait: {t}", .{e});
                lib.poller.reregister(poller, fd, 1, abi.interest_readable) catch |e| die("reregister: {t}", .{e});
            },
            else => next += 1, // an error that belongs to this datagram alone (e.g. ECONNREFUSED)
        }
    }
}

pub fn main(init: std.process.Init.Minimal) void {
    var args = init.args.iterate();
    _ = args.skip();
    const host = args.next() orelse die("usage: echo-reference HOST PORT", .{});
    const port_text = args.next() orelse die("usage: echo-reference HOST PORT", .{});
    const port = std.fmt.parseInt(u16, port_text, 10) catch die("bad port {s}", .{port_text});
    var address = parseAddress(host, port);
    const flag = args.next();
    var offload = false;
    var timed = false;
    if (flag) |text| {
        if (std.mem.eql(u8, text, "--offload")) offload = true else if (std.mem.eql(u8, text, "--polls")) timed = true else die("unknown option {s}", .{text});
    }

    const fd = lib.udp.open(address.family) catch |err| die("socket: {t}", .{err});
    // Larger buffers are a wish: the kernel caps them at its limits, and the echo still works.
    lib.udp.setOption(fd, @backingInt(abi.Option.recv_buffer), 4 << 20) catch {};
    lib.udp.setOption(fd, @backingInt(abi.Option.send_buffer), 4 << 20) catch {};
    if (offload) lib.udp.enableOffload(fd) catch |err| die("the kernel refused UDP GRO/GSO: {t}", .{err});
    lib.udp.bind(fd, &address) catch |err| die("cannot bind {s}:{d}: {t}", .{ host, port, err });
    lib.udp.localAddress(fd, &address) catch |err| die("getsockname: {t}", .{err});

    const poller = lib.poller.open() catch |err| die("cannot open the poller: {t}", .{err});
    lib.poller.register(poller, fd, 1, abi.interest_readable) catch |err| die("cannot register: {t}", .{err});

    var buffer: [128]u8 = undefined;
    const ready = std.fmt.bufPrint(&buffer, "echo-reference listening on {s}:{d}{s}\n", .{ host, address.port, if (offload) " (offload on)" else "" }) catch unreachable;
    _ = linux.write(1, ready.ptr, ready.len);

    var events: [16]abi.Event = undefined;
    var polls = Polls{};
    while (true) {
        _ = lib.poller.wait(poller, &events, if (timed) 1000 else -1) catch |err| die("wait: {t}", .{err});
        // Edge-triggered: drain the socket until it would block. An error an earlier datagram
        // left (ECONNREFUSED from a peer gone away) is reported once and cleared: keep draining,
        // or the datagrams behind it would wait for the next edge.
        if (timed) polls.start();
        while (true) {
            const received = lib.udp.recvBatch(fd, &payloads, slot_size, &datagrams) catch |err| switch (err) {
                error.WouldBlock => break,
                error.ConnectionRefused, error.HostUnreachable, error.HostDown, error.NetworkUnreachable => continue,
                error.NetworkDown, error.MessageTooLarge, error.OptionUnsupported, error.ProtocolError => continue,
                error.OperationUnsupported, error.TimedOut => continue,
                else => die("recvmmsg: {t}", .{err}),
            };
            sendAll(poller, fd, received);
            if (timed) polls.afterBatch();
        }
        if (timed) polls.end();
    }
}

/// udp-echo's turn budget (`TURN_BUDGET_MS` in src/echo/service.ts): a poll of its reader ends
/// after it, at most one batch later.
const turn_budget_ns = 500_000;
const slow_ns = 1_000_000;

/// `--polls`: the draining cut into polls as udp-echo's would be, and how many took over 1 ms.
const Polls = struct {
    count: u64 = 0,
    slow: u64 = 0,
    longest_ns: u64 = 0,
    started_ns: u64 = 0,
    /// Batches echoed in the poll in progress: a wake with nothing to read is no poll.
    batches: u64 = 0,
    printed_ns: u64 = 0,

    fn start(self: *Polls) void {
        self.started_ns = nowNs();
        self.batches = 0;
    }

    fn afterBatch(self: *Polls) void {
        self.batches += 1;
        const now = nowNs();
        if (now - self.started_ns < turn_budget_ns) return;
        self.countOne(now);
        self.started_ns = now;
        self.batches = 0;
    }

    fn end(self: *Polls) void {
        const now = nowNs();
        if (self.batches > 0) self.countOne(now);
        if (now - self.printed_ns < std.time.ns_per_s) return;
        self.printed_ns = now;
        var buffer: [96]u8 = undefined;
        const line = std.fmt.bufPrint(&buffer, "polls {d} over-1ms {d} longest-us {d}\n", .{ self.count, self.slow, self.longest_ns / 1000 }) catch unreachable;
        _ = linux.write(1, line.ptr, line.len);
    }

    fn countOne(self: *Polls, now: u64) void {
        const took = now - self.started_ns;
        self.count += 1;
        if (took > slow_ns) self.slow += 1;
        self.longest_ns = @max(self.longest_ns, took);
    }
};

fn nowNs() u64 {
    var ts: linux.timespec = undefined;
    _ = linux.clock_gettime(.MONOTONIC, &ts);
    return @as(u64, @intCast(ts.sec)) * std.time.ns_per_s + @as(u64, @intCast(ts.nsec));
}
