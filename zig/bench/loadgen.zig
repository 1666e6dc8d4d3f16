//! The benchmark's load generator: closed-loop UDP echo load that verifies every echoed byte.
//!
//! Each datagram carries a header (the socket's number and a sequence number) and a pattern
//! derived from both; an echo counts only if every byte matches. Modes:
//!
//! - `throughput`: SOCKETS connected sockets, each keeping WINDOW datagrams in flight, for
//!   SECONDS; a window that stalls (no reply for `--stall-ms`, default 50: its datagrams were
//!   dropped) is refilled and its datagrams counted lost. On a loaded machine a server may simply
//!   not run for longer than that: tests that must see no loss pass a generous value.
//! - `count`: the same load, until exactly N datagrams have been sent and each has come back
//!   verified, been found corrupted, or been given up as lost (SECONDS is then only a limit).
//! - `latency`: one socket, one datagram in flight for SECONDS; exact RTT percentiles (p50, p99,
//!   p99.9, p99.99) and the maximum, from every RTT sorted. A datagram not echoed within 100 ms
//!   counts as lost, not as an RTT.
//! - `burst` and `burst-count`: `throughput` and `count`, but each socket sends bursts of BURST
//!   equal datagrams, each burst one buffer handed to the kernel with a segment size
//!   (`UDP_SEGMENT`, GSO), as QUIC stacks send. The sockets receive with `UDP_GRO`, and every
//!   datagram of a coalesced echo is verified on its own, its boundaries included: an echo that
//!   merged two datagrams into one, or split one, counts as an error. WINDOW is rounded down to
//!   whole bursts.
//! - `probe`: one datagram every millisecond until the first echo; prints the wall-clock time
//!   (CLOCK_REALTIME, ns) of that echo, for measuring a server's cold start from another
//!   process that noted when it started the server.
//!
//! Usage: loadgen [--stall-ms MS] MODE HOST PORT [SIZE SECONDS SOCKETS WINDOW [N]]
//!        loadgen [--stall-ms MS] burst|burst-count HOST PORT SIZE SECONDS SOCKETS WINDOW BURST [N]
//! (`--stall-ms` may come anywhere on the line.)
//! Prints one JSON object on stdout.

const std = @import("std");
const linux = std.os.linux;
const cli = @import("cli.zig");
const tool = cli.Tool("loadgen");
const die = tool.die;
const print = tool.print;
const target = tool.target;
const Target = cli.Target;
const nowNs = cli.nowNs;

const header_size = 16;
const batch = 64;
const slot_size = 65536;
const sockets_max = 64;
const samples_max = 4 << 20;
/// How long a window may go without a reply before its datagrams count as lost, by default.
const stall_ms_default = 50;
/// The most datagrams one UDP_SEGMENT send may carry on every kernel since 4.18
/// (`UDP_MAX_SEGMENTS`; 6.9 raised it to 128), and the most UDP_GRO coalesces (`UDP_GRO_CNT_MAX`).
const burst_max = 64;
/// The most payload one buffer may carry: the IPv4 limit, the smaller of the two.
const payload_max = 65507;
/// Room for one control message of an `int` (the UDP_GRO segment size) or a `u16`
/// (UDP_SEGMENT), aligned as `CMSG_SPACE` aligns it.
const control_size = std.mem.alignForward(usize, @sizeOf(linux.cmsghdr) + @sizeOf(c_int), @sizeOf(usize));

fn wallClockNs() u64 {
    var now: linux.timespec = undefined;
    _ = linux.clock_gettime(.REALTIME, &now);
    return @as(u64, @intCast(now.sec)) * std.time.ns_per_s + @as(u64, @intCast(now.nsec));
}

fn check(rc: usize, what: []const u8) usize {
    if (linux.errno(rc) != .SUCCESS) die("{s}: {t}", .{ what, linux.errno(rc) });
    return rc;
}

/// The byte at `index` of datagram `sequence` of socket `socket`.
inline fn pattern(socket: u32, sequence: u64, index: usize) u8 {
    return @truncate(sequence *% 31 +% socket *% 7 +% index);
}

fn fill(out: []u8, socket: u32, sequence: u64) void {
    std.mem.writeInt(u64, out[0..8], sequence, .little);
    std.mem.writeInt(u32, out[8..12], socket, .little);
    std.mem.writeInt(u32, out[12..16], @intCast(out.len), .little);
    for (out[header_size..], header_size..) |*byte, index| byte.* = pattern(socket, sequence, index);
}

/// Whether `echo` is exactly what socket `socket` sent with a sequence number it has used.
fn verify(echo: []const u8, socket: u32, size: usize, sent: u64) bool {
    if (echo.len != size) return false;
    const sequence = std.mem.readInt(u64, echo[0..8], .little);
    if (sequence >= sent or std.mem.readInt(u32, echo[8..12], .little) != socket) return false;
    if (std.mem.readInt(u32, echo[12..16], .little) != size) return false;
    for (echo[header_size..], header_size..) |byte, index| {
        if (byte != pattern(socket, sequence, index)) return false;
    }
    return true;
}

/// A non-blocking UDP socket connected to the server; with `gro`, receiving with UDP_GRO.
fn connectedSocket(to: Target, gro: bool) i32 {
    const fd: i32 = @intCast(check(linux.socket(to.family, linux.SOCK.DGRAM | linux.SOCK.NONBLOCK | linux.SOCK.CLOEXEC, 0), "socket"));
    const size: c_int = 4 << 20;
    _ = linux.setsockopt(fd, linux.SOL.SOCKET, linux.SO.RCVBUF, std.mem.asBytes(&size), @sizeOf(c_int));
    _ = linux.setsockopt(fd, linux.SOL.SOCKET, linux.SO.SNDBUF, std.mem.asBytes(&size), @sizeOf(c_int));
    if (gro) {
        const on: c_int = 1;
        _ = check(linux.setsockopt(fd, linux.IPPROTO.UDP, linux.UDP.GRO, std.mem.asBytes(&on), @sizeOf(c_int)), "setsockopt UDP_GRO");
    }
    _ = check(linux.connect(fd, &to.storage, to.len), "connect");
    return fd;
}

var send_buffer: [batch * slot_size]u8 = undefined;
var recv_buffer: [batch * slot_size]u8 = undefined;
var send_controls: [batch][control_size]u8 align(@alignOf(linux.cmsghdr)) = undefined;
var recv_controls: [batch][control_size]u8 align(@alignOf(linux.cmsghdr)) = undefined;

/// How the load is shaped: datagrams of `size` bytes, sent `burst` to a buffer (1: plainly).
const Shape = struct {
    size: usize,
    burst: usize = 1,
};

const Flow = struct {
    fd: i32,
    number: u32,
    sent: u64 = 0,
    in_flight: u64 = 0,
    last_reply_ns: u64 = 0,
};

/// Sends `count` new datagrams on `flow` (as many as the socket takes), `shape.burst` to a
/// message; returns how many datagrams.
fn send(flow: *Flow, shape: Shape, count: usize) usize {
    var headers: [batch]linux.mmsghdr = undefined;
    var iovecs: [batch]std.posix.iovec_const = undefined;
    const n = @min(count / shape.burst, batch);
    if (n == 0) return 0;
    for (0..n) |index| {
        const slot = send_buffer[index * slot_size ..][0 .. shape.size * shape.burst];
        for (0..shape.burst) |segment| {
            fill(slot[segment * shape.size ..][0..shape.size], flow.number, flow.sent + index * shape.burst + segment);
        }
        iovecs[index] = .{ .base = slot.ptr, .len = slot.len };
        headers[index] = .{ .hdr = std.mem.zeroes(linux.msghdr), .len = 0 };
        headers[index].hdr.iov = @ptrCast(iovecs[index..][0..1]);
        headers[index].hdr.iovlen = 1;
        if (shape.burst > 1) {
            // One control message: level SOL_UDP, type UDP_SEGMENT, a u16 segment size.
            const control = &send_controls[index];
            const header: *linux.cmsghdr = @ptrCast(control);
            header.* = .{ .len = @sizeOf(linux.cmsghdr) + @sizeOf(u16), .level = linux.IPPROTO.UDP, .type = linux.UDP.SEGMENT };
            std.mem.writeInt(u16, control[@sizeOf(linux.cmsghdr)..][0..2], @intCast(shape.size), .little);
            headers[index].hdr.control = control;
            headers[index].hdr.controllen = control_size;
        }
    }
    const rc = linux.sendmmsg(flow.fd, &headers, @intCast(n), 0);
    if (linux.errno(rc) != .SUCCESS) return 0;
    const datagrams = rc * shape.burst;
    flow.sent += datagrams;
    flow.in_flight += datagrams;
    return datagrams;
}

/// The segment size of a received message: from its UDP_GRO control message if the kernel
/// coalesced several datagrams into it, else its whole length (one datagram).
fn segmentSize(header: *const linux.msghdr, len: usize) usize {
    if (header.controllen < @sizeOf(linux.cmsghdr)) return len;
    const control: [*]const u8 = @ptrCast(header.control.?);
    var offset: usize = 0;
    while (offset + @sizeOf(linux.cmsghdr) <= header.controllen) {
        const cmsg: *align(1) const linux.cmsghdr = @ptrCast(control + offset);
        if (cmsg.len < @sizeOf(linux.cmsghdr)) break;
        if (cmsg.level == linux.IPPROTO.UDP and cmsg.type == linux.UDP.GRO) {
            const value = std.mem.readInt(c_int, control[offset + @sizeOf(linux.cmsghdr) ..][0..@sizeOf(c_int)], .little);
            return if (value > 0) @intCast(value) else len;
        }
        offset += std.mem.alignForward(usize, cmsg.len, @sizeOf(usize));
    }
    return len;
}

/// Receives and verifies what is waiting on `flow`, datagram by datagram (the segments of a
/// coalesced message one by one); returns verified echoes and counts errors.
fn receive(flow: *Flow, size: usize, errors: *u64) u64 {
    var verified: u64 = 0;
    while (true) {
        var headers: [batch]linux.mmsghdr = undefined;
        var iovecs: [batch]std.posix.iovec = undefined;
        for (0..batch) |index| {
            iovecs[index] = .{ .base = recv_buffer[index * slot_size ..].ptr, .len = slot_size };
            headers[index] = .{ .hdr = std.mem.zeroes(linux.msghdr), .len = 0 };
            headers[index].hdr.iov = iovecs[index..][0..1];
            headers[index].hdr.iovlen = 1;
            headers[index].hdr.control = &recv_controls[index];
            headers[index].hdr.controllen = control_size;
        }
        const rc = linux.recvmmsg(flow.fd, &headers, batch, 0, null);
        switch (linux.errno(rc)) {
            .SUCCESS => {},
            .AGAIN, .CONNREFUSED => return verified,
            else => |e| die("recvmmsg: {t}", .{e}),
        }
        for (headers[0..rc], 0..) |*header, index| {
            const message = recv_buffer[index * slot_size ..][0..header.len];
            const stride = @max(segmentSize(&header.hdr, message.len), 1);
            // A zero-length message is one (empty) datagram; a coalesced one holds
            // ceil(len / stride), the last possibly shorter.
            const datagrams = @max(std.math.divCeil(usize, message.len, stride) catch unreachable, 1);
            for (0..datagrams) |segment| {
                const start = @min(segment * stride, message.len);
                const echo = message[start..@min(start + stride, message.len)];
                if (verify(echo, flow.number, size, flow.sent)) verified += 1 else errors.* += 1;
            }
            flow.in_flight -|= datagrams;
        }
    }
}

/// Sends fresh datagrams on `flow` until `window` are in flight or `budget` is spent.
fn refill(flow: *Flow, shape: Shape, window: u64, budget: *u64) void {
    while (flow.in_flight < window and budget.* > 0) {
        const sent = send(flow, shape, @min(window - flow.in_flight, budget.*));
        if (sent == 0) break;
        budget.* -= sent;
    }
}

/// Closed-loop load for `seconds`, or, with a `limit`, until `limit` datagrams are accounted for.
fn throughput(to: Target, shape: Shape, seconds: f64, socket_count: usize, window: u64, limit: ?u64, stall_ns: u64) void {
    const size = shape.size;
    var flows: [sockets_max]Flow = undefined;
    const epoll: i32 = @intCast(check(linux.epoll_create1(linux.EPOLL.CLOEXEC), "epoll_create1"));
    for (flows[0..socket_count], 0..) |*flow, index| {
        flow.* = .{ .fd = connectedSocket(to, shape.burst > 1), .number = @intCast(index) };
        var event = linux.epoll_event{ .events = linux.EPOLL.IN, .data = .{ .u64 = index } };
        _ = check(linux.epoll_ctl(epoll, linux.EPOLL.CTL_ADD, flow.fd, &event), "epoll_ctl");
    }
    const started = nowNs();
    const deadline = started + @as(u64, @intFromFloat(seconds * std.time.ns_per_s));
    var verified: u64 = 0;
    var errors: u64 = 0;
    var lost: u64 = 0;
    var budget: u64 = limit orelse std.math.maxInt(u64);
    for (flows[0..socket_count]) |*flow| {
        flow.last_reply_ns = started;
        refill(flow, shape, window, &budget);
    }
    var events: [sockets_max]linux.epoll_event = undefined;
    var now = started;
    while (now < deadline and (limit == null or verified + errors + lost < limit.?)) {
        const ready = linux.epoll_wait(epoll, &events, @intCast(socket_count), 10);
        now = nowNs();
        if (linux.errno(ready) == .SUCCESS) {
            for (events[0..ready]) |event| {
                const flow = &flows[@intCast(event.data.u64)];
                const got = receive(flow, size, &errors);
                if (got > 0) flow.last_reply_ns = now;
                verified += got;
            }
        }
        for (flows[0..socket_count]) |*flow| {
            if (flow.in_flight > 0 and now - flow.last_reply_ns > stall_ns) {
                lost += flow.in_flight;
                flow.in_flight = 0;
                flow.last_reply_ns = now;
            }
            refill(flow, shape, window, &budget);
        }
    }
    const elapsed = @as(f64, @floatFromInt(nowNs() - started)) / std.time.ns_per_s;
    print("{{\"mode\":\"{s}\",\"size\":{d},\"burst\":{d},\"seconds\":{d:.3},\"echoes\":{d},\"echoes_per_sec\":{d:.1},\"errors\":{d},\"lost\":{d}}}\n", .{
        if (limit == null) "throughput" else "count", size, shape.burst, elapsed, verified, @as(f64, @floatFromInt(verified)) / elapsed, errors, lost,
    });
}

var samples: [samples_max]u64 = undefined;

fn latency(to: Target, size: usize, seconds: f64) void {
    var flow = Flow{ .fd = connectedSocket(to, false), .number = 0 };
    var pollfd = [1]linux.pollfd{.{ .fd = flow.fd, .events = linux.POLL.IN, .revents = 0 }};
    const started = nowNs();
    const deadline = started + @as(u64, @intFromFloat(seconds * std.time.ns_per_s));
    var count: usize = 0;
    var errors: u64 = 0;
    var lost: u64 = 0;
    while (nowNs() < deadline and count < samples_max) {
        const sent_at = nowNs();
        if (send(&flow, .{ .size = size }, 1) != 1) continue;
        while (true) {
            const ready = linux.poll(&pollfd, 1, 100);
            if (ready == 0) {
                lost += 1;
                flow.in_flight = 0;
                break;
            }
            if (receive(&flow, size, &errors) == 1) {
                samples[count] = nowNs() - sent_at;
                count += 1;
                break;
            }
            if (flow.in_flight == 0) break;
        }
    }
    if (count == 0) die("no echo came back", .{});
    std.mem.sortUnstable(u64, samples[0..count], {}, std.sort.asc(u64));
    const us = struct {
        fn at(sorted: []const u64, fraction: f64) f64 {
            const index: usize = @intFromFloat(@floor(fraction * @as(f64, @floatFromInt(sorted.len - 1))));
            return @as(f64, @floatFromInt(sorted[index])) / 1000.0;
        }
    }.at;
    const sorted = samples[0..count];
    print("{{\"mode\":\"latency\",\"size\":{d},\"echoes\":{d},\"errors\":{d},\"lost\":{d},", .{ size, count, errors, lost });
    print("\"rtt_us\":{{\"p50\":{d:.1},\"p99\":{d:.1},\"p999\":{d:.1},\"p9999\":{d:.1},\"max\":{d:.1}}}}}\n", .{
        us(sorted, 0.5), us(sorted, 0.99), us(sorted, 0.999), us(sorted, 0.9999), us(sorted, 1.0),
    });
}

fn probe(to: Target, seconds: f64) void {
    var flow = Flow{ .fd = connectedSocket(to, false), .number = 0 };
    const deadline = nowNs() + @as(u64, @intFromFloat(seconds * std.time.ns_per_s));
    var errors: u64 = 0;
    var pollfd = [1]linux.pollfd{.{ .fd = flow.fd, .events = linux.POLL.IN, .revents = 0 }};
    while (nowNs() < deadline) {
        _ = send(&flow, .{ .size = header_size }, 1);
        if (linux.poll(&pollfd, 1, 1) == 1 and receive(&flow, header_size, &errors) > 0) {
            print("{{\"mode\":\"probe\",\"echo_wall_clock_ns\":{d}}}\n", .{wallClockNs()});
            return;
        }
    }
    die("no echo within {d} s", .{seconds});
}

fn number(comptime T: type, text: ?[]const u8, default: T) T {
    const value = text orelse return default;
    if (T == f64) return std.fmt.parseFloat(f64, value) catch die("bad number {s}", .{value});
    return std.fmt.parseInt(T, value, 10) catch die("bad number {s}", .{value});
}

/// The command line's positional arguments, with the options taken out of it.
const Positional = struct {
    items: [16][]const u8 = undefined,
    len: usize = 0,
    index: usize = 0,

    fn next(self: *Positional) ?[]const u8 {
        if (self.index == self.len) return null;
        self.index += 1;
        return self.items[self.index - 1];
    }
};

pub fn main(init: std.process.Init.Minimal) void {
    var all = init.args.iterate();
    _ = all.skip();
    var args = Positional{};
    var stall_ms: u64 = stall_ms_default;
    while (all.next()) |arg| {
        if (std.mem.eql(u8, arg, "--stall-ms")) {
            stall_ms = number(u64, all.next() orelse die("--stall-ms needs a number of milliseconds", .{}), 0);
            if (stall_ms == 0) die("--stall-ms must be at least 1", .{});
            continue;
        }
        if (args.len == args.items.len) die("too many arguments", .{});
        args.items[args.len] = arg;
        args.len += 1;
    }
    const mode = args.next() orelse die("usage: loadgen throughput|count|burst|burst-count|latency|probe HOST PORT [SIZE SECONDS SOCKETS WINDOW [BURST] [N]]", .{});
    const host = args.next() orelse die("missing HOST", .{});
    const to = target(host, number(u16, args.next(), 0));
    const size = number(usize, args.next(), 64);
    const seconds = number(f64, args.next(), 3);
    if (size > 65507) die("size {d} is larger than 65507", .{size});
    // Every datagram carries the header that makes its echo verifiable.
    if (size < header_size) die("size {d} is smaller than the {d}-byte header every datagram carries", .{ size, header_size });
    const bursty = std.mem.eql(u8, mode, "burst") or std.mem.eql(u8, mode, "burst-count");
    if (bursty or std.mem.eql(u8, mode, "throughput") or std.mem.eql(u8, mode, "count")) {
        const socket_count = number(usize, args.next(), 8);
        if (socket_count < 1 or socket_count > sockets_max) die("sockets must be 1 to {d}", .{sockets_max});
        var window = number(u64, args.next(), 32);
        var shape = Shape{ .size = size };
        if (bursty) {
            shape.burst = number(usize, args.next(), 16);
            if (shape.burst < 2 or shape.burst > burst_max) die("burst must be 2 to {d}", .{burst_max});
            if (size == 0 or size * shape.burst > payload_max) die("a burst of {d} x {d} B is not 1 to {d} bytes", .{ shape.burst, size, payload_max });
            window -= window % shape.burst;
            if (window == 0) die("window must hold at least one burst of {d}", .{shape.burst});
        }
        const counted = std.mem.eql(u8, mode, "count") or std.mem.eql(u8, mode, "burst-count");
        const limit: ?u64 = if (counted) number(u64, args.next(), 1_000_000) else null;
        if (limit != null and limit.? % shape.burst != 0) die("N must be a multiple of the burst {d}", .{shape.burst});
        throughput(to, shape, seconds, socket_count, window, limit, stall_ms * std.time.ns_per_ms);
    } else if (std.mem.eql(u8, mode, "latency")) {
        latency(to, size, seconds);
    } else if (std.mem.eql(u8, mode, "probe")) {
        probe(to, seconds);
    } else die("unknown mode {s}", .{mode});
}
