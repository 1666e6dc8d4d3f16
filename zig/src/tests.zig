//! Behaviour tests of every export, through the C ABI exactly as TypeScript calls it.
//!
//! Sockets bind to port 0 on loopback, for IPv4 and IPv6 alike. Each test narrates its steps.

const std = @import("std");
const builtin = @import("builtin");
const abi = @import("abi.zig");
const sys = @import("sys.zig");
const root = @import("root.zig");
const suite = @import("poller/suite.zig");

/// The exports with typed arguments: each pointer goes in with its length, as bun:ffi passes it.
const lib = struct {
    const close = root.br_close;
    const udp_open = root.br_udp_open;
    const udp_set_option = root.br_udp_set_option;
    const udp_get_option = root.br_udp_get_option;
    const udp_enable_offload = root.br_udp_enable_offload;
    const signals_open = root.br_signals_open;
    const signals_close = root.br_signals_close;

    fn raw(ptr: anytype) []u8 {
        return std.mem.asBytes(@constCast(ptr));
    }
    fn rawSlice(items: anytype) []u8 {
        return std.mem.sliceAsBytes(@constCast(items));
    }
    fn abi_layout(out: *abi.Layout) i32 {
        return root.br_abi_layout(raw(out).ptr, @sizeOf(abi.Layout));
    }
    fn errno_name(code: i32, out: []u8) i32 {
        return root.br_errno_name(code, out.ptr, out.len);
    }
    fn poller_backend(out: []u8) i32 {
        return root.br_poller_backend(out.ptr, out.len);
    }
    fn poller_open(p: *abi.Poller) i32 {
        return root.br_poller_open(raw(p).ptr, @sizeOf(abi.Poller));
    }
    fn poller_close(p: *const abi.Poller) i32 {
        return root.br_poller_close(raw(p).ptr, @sizeOf(abi.Poller));
    }
    fn poller_register(p: ?*const abi.Poller, fd: i32, token: u64, interest: u32) i32 {
        const ptr: ?[*]u8 = if (p) |v| raw(v).ptr else null;
        return root.br_poller_register(ptr, @sizeOf(abi.Poller), fd, token, interest);
    }
    fn poller_reregister(p: *const abi.Poller, fd: i32, token: u64, interest: u32) i32 {
        return root.br_poller_reregister(raw(p).ptr, @sizeOf(abi.Poller), fd, token, interest);
    }
    fn poller_deregister(p: *const abi.Poller, fd: i32) i32 {
        return root.br_poller_deregister(raw(p).ptr, @sizeOf(abi.Poller), fd);
    }
    fn poller_wait(p: *const abi.Poller, events: []abi.Event, timeout_ms: i32) i32 {
        return root.br_poller_wait(raw(p).ptr, @sizeOf(abi.Poller), rawSlice(events).ptr, events.len * @sizeOf(abi.Event), timeout_ms);
    }
    fn poller_wake(p: *const abi.Poller) i32 {
        return root.br_poller_wake(raw(p).ptr, @sizeOf(abi.Poller));
    }
    fn udp_bind(fd: i32, address: *const abi.Address) i32 {
        return root.br_udp_bind(fd, raw(address).ptr, @sizeOf(abi.Address));
    }
    fn udp_local_address(fd: i32, address: *abi.Address) i32 {
        return root.br_udp_local_address(fd, raw(address).ptr, @sizeOf(abi.Address));
    }
    fn udp_recv_from(fd: i32, buffer: []u8, datagram: *abi.Datagram) i32 {
        return root.br_udp_recv_from(fd, buffer.ptr, buffer.len, raw(datagram).ptr, @sizeOf(abi.Datagram));
    }
    fn udp_send_to(fd: i32, payload: []const u8, address: *const abi.Address) i32 {
        return root.br_udp_send_to(fd, @constCast(payload.ptr), payload.len, raw(address).ptr, @sizeOf(abi.Address));
    }
    fn udp_recv_batch(fd: i32, buffer: []u8, slot_size: u32, datagrams: []abi.Datagram) i32 {
        return root.br_udp_recv_batch(fd, buffer.ptr, buffer.len, slot_size, rawSlice(datagrams).ptr, datagrams.len * @sizeOf(abi.Datagram));
    }
    fn udp_send_batch(fd: i32, buffer: []const u8, slot_size: u32, datagrams: []const abi.Datagram) i32 {
        return root.br_udp_send_batch(fd, @constCast(buffer.ptr), buffer.len, slot_size, rawSlice(datagrams).ptr, datagrams.len * @sizeOf(abi.Datagram));
    }
    fn read(fd: i32, buffer: []u8) i32 {
        return root.br_read(fd, buffer.ptr, buffer.len);
    }
};

const testing = std.testing;
const os = if (builtin.os.tag == .linux) std.os.linux else std.c;

fn neg(e: sys.E) i32 {
    return -@as(i32, @backingInt(e));
}

const families = [_]u16{ 4, 6 };

fn loopback(family: u16, port: u16) abi.Address {
    var address = std.mem.zeroes(abi.Address);
    address.family = family;
    address.port = port;
    if (family == 4) address.bytes[0..4].* = .{ 127, 0, 0, 1 } else address.bytes[15] = 1;
    return address;
}

/// A UDP socket bound to the loopback address of `family`, on a port the kernel picks.
const Bound = struct {
    fd: i32,
    address: abi.Address,

    fn open(family: u16) !Bound {
        const fd = lib.udp_open(family);
        try testing.expect(fd >= 0);
        errdefer _ = lib.close(fd);
        try suite.expectDescriptorFlags(fd, true);
        var address = loopback(family, 0);
        try testing.expectEqual(0, lib.udp_bind(fd, &address));
        try testing.expectEqual(0, lib.udp_local_address(fd, &address));
        try testing.expect(address.port != 0);
        return .{ .fd = fd, .address = address };
    }

    fn close(self: Bound) void {
        std.debug.assert(lib.close(self.fd) == 0);
    }
};

fn openPoller() !abi.Poller {
    var poller: abi.Poller = undefined;
    try testing.expectEqual(0, lib.poller_open(&poller));
    return poller;
}

fn closePoller(poller: *const abi.Poller) void {
    std.debug.assert(lib.poller_close(poller) == 0);
}

test "the layout export matches the structs it describes" {
    var layout: abi.Layout = undefined;
    try testing.expectEqual(0, lib.abi_layout(&layout));
    try testing.expectEqual(@as(u32, 16), layout.event_size);
    try testing.expectEqual(@as(u32, 24), layout.address_size);
    try testing.expectEqual(@as(u32, 32), layout.datagram_size);
}

test "errno codes have their OS names, and unknown codes have none" {
    var name: [32]u8 = undefined;
    const len = lib.errno_name(@backingInt(sys.E.AGAIN), &name);
    try testing.expectEqualStrings("EAGAIN", name[0..@intCast(len)]);
    try testing.expectEqual(0, lib.errno_name(0, &name));
    try testing.expectEqual(0, lib.errno_name(9999, &name));
    try testing.expectEqual(neg(.RANGE), lib.errno_name(@backingInt(sys.E.AGAIN), name[0..3]));
}

test "the poller names its backend" {
    var name: [16]u8 = undefined;
    const len = lib.poller_backend(&name);
    const expected = if (builtin.os.tag == .linux) "epoll" else "kqueue";
    try testing.expectEqualStrings(expected, name[0..@intCast(len)]);
}

/// The backends whose suite runs on this machine; `zig build cross` compiles the others'.
const runnable_backends = switch (builtin.os.tag) {
    .linux => .{@import("poller/epoll.zig")},
    .macos, .freebsd => .{@import("poller/kqueue.zig")},
    else => @compileError("no poller backend runs on this OS"),
};

test {
    inline for (runnable_backends) |Backend| _ = suite.Suite(Backend);
}

test "the poller's exports report its errors as their errno, and its events as they came" {
    const poller = try openPoller();
    defer closePoller(&poller);
    const receiver = try Bound.open(4);
    defer receiver.close();
    const sender = try Bound.open(4);
    defer sender.close();
    var events: [8]abi.Event = undefined;

    // Arguments refused at the edge, then by the backend.
    try testing.expectEqual(neg(.FAULT), lib.poller_register(null, receiver.fd, 1, 1));
    try testing.expectEqual(neg(.INVAL), lib.poller_register(&poller, receiver.fd, 1, 0));
    try testing.expectEqual(neg(.BADF), lib.poller_register(&poller, -1, 1, 1));
    try testing.expectEqual(neg(.NOENT), lib.poller_deregister(&poller, receiver.fd));
    try testing.expectEqual(neg(.INVAL), lib.poller_wait(&poller, events[0..0], 0));

    // Registered once, then refused the second time the same way on every backend.
    try testing.expectEqual(0, lib.poller_register(&poller, receiver.fd, 9, abi.interest_readable));
    try testing.expectEqual(neg(.EXIST), lib.poller_register(&poller, receiver.fd, 9, abi.interest_readable));

    // A datagram and a wake: two events, one under the token, one under the waker's.
    try testing.expectEqual(1, lib.udp_send_to(sender.fd, "x", &receiver.address));
    try testing.expectEqual(0, lib.poller_wake(&poller));
    var seen: usize = 0;
    while (seen < 2) {
        const count = lib.poller_wait(&poller, events[seen..], 1000);
        try testing.expect(count > 0);
        seen += @intCast(count);
    }
    try testing.expectEqual(@as(u64, 9) ^ abi.token_waker, events[0].token ^ events[1].token);
    try testing.expectEqual(0, lib.poller_reregister(&poller, receiver.fd, 10, abi.interest_all));
    try testing.expectEqual(0, lib.poller_deregister(&poller, receiver.fd));
}

test "new sockets are non-blocking and close-on-exec" {
    for (families) |family| {
        const fd = lib.udp_open(family);
        try testing.expect(fd >= 0);
        defer _ = lib.close(fd);
        try suite.expectDescriptorFlags(fd, true);
    }
}

test "an empty socket would block, and a datagram makes the round trip with its peer" {
    for (families) |family| {
        const a = try Bound.open(family);
        defer a.close();
        const b = try Bound.open(family);
        defer b.close();
        var buffer: [64]u8 = undefined;
        var datagram: abi.Datagram = undefined;

        // Nothing has been sent yet.
        try testing.expectEqual(neg(.AGAIN), lib.udp_recv_from(b.fd, &buffer, &datagram));

        // a sends to b; b reads the bytes and a's address as the peer.
        try testing.expectEqual(11, lib.udp_send_to(a.fd, "hello world", &b.address));
        try testing.expectEqual(11, lib.udp_recv_from(b.fd, &buffer, &datagram));
        try testing.expectEqualStrings("hello world", buffer[0..11]);
        try testing.expectEqual(@as(u32, 11), datagram.len);
        try testing.expectEqual(@as(u32, 0), datagram.flags);
        try testing.expectEqual(a.address.family, datagram.address.family);
        try testing.expectEqual(a.address.port, datagram.address.port);
        try testing.expectEqualSlices(u8, &a.address.bytes, &datagram.address.bytes);

        // An empty datagram is a datagram too.
        try testing.expectEqual(0, lib.udp_send_to(a.fd, "", &b.address));
        try testing.expectEqual(0, lib.udp_recv_from(b.fd, &buffer, &datagram));
        try testing.expectEqual(@as(u32, 0), datagram.flags);
    }
}

test "a datagram larger than the buffer is reported truncated" {
    const a = try Bound.open(4);
    defer a.close();
    const b = try Bound.open(4);
    defer b.close();
    var buffer: [4]u8 = undefined;
    var datagram: abi.Datagram = undefined;
    try testing.expectEqual(10, lib.udp_send_to(a.fd, "0123456789", &b.address));
    try testing.expectEqual(4, lib.udp_recv_from(b.fd, &buffer, &datagram));
    try testing.expectEqualStrings("0123", &buffer);
    try testing.expectEqual(abi.datagram_truncated, @as(u32, datagram.flags));
}

test "a batch of 64 datagrams makes the round trip with bytes and peers intact" {
    for (families) |family| {
        const server = try Bound.open(family);
        defer server.close();
        const client = try Bound.open(family);
        defer client.close();
        const slot = 32;
        var send_buffer: [64 * slot]u8 = undefined;
        var send_meta: [64]abi.Datagram = undefined;
        for (&send_meta, 0..) |*datagram, index| {
            const payload = std.fmt.bufPrint(send_buffer[index * slot ..][0..slot], "datagram {d}", .{index}) catch unreachable;
            datagram.* = .{ .len = @intCast(payload.len), .flags = 0, .address = server.address };
        }

        // The client sends all 64 in one call; the server receives them in order.
        try testing.expectEqual(64, lib.udp_send_batch(client.fd, &send_buffer, slot, &send_meta));
        var recv_buffer: [64 * slot]u8 = undefined;
        var recv_meta: [64]abi.Datagram = undefined;
        var received: usize = 0;
        while (received < 64) {
            const rc = lib.udp_recv_batch(server.fd, recv_buffer[received * slot ..], slot, recv_meta[received..]);
            try testing.expect(rc > 0);
            received += @intCast(rc);
        }
        for (recv_meta, send_meta, 0..) |got, sent, index| {
            try testing.expectEqualSlices(u8, send_buffer[index * slot ..][0..sent.len], recv_buffer[index * slot ..][0..got.len]);
            try testing.expectEqual(client.address.port, got.address.port);
            try testing.expectEqual(client.address.family, got.address.family);
        }

        // The server echoes the batch from the very same buffers it received into.
        try testing.expectEqual(64, lib.udp_send_batch(server.fd, &recv_buffer, slot, &recv_meta));
        var echo_buffer: [64 * slot]u8 = undefined;
        var echo_meta: [64]abi.Datagram = undefined;
        received = 0;
        while (received < 64) {
            const rc = lib.udp_recv_batch(client.fd, echo_buffer[received * slot ..], slot, echo_meta[received..]);
            try testing.expect(rc > 0);
            received += @intCast(rc);
        }
        try testing.expectEqualSlices(u8, &send_buffer, &echo_buffer);

        // Nothing is left: the next batch would block.
        try testing.expectEqual(neg(.AGAIN), lib.udp_recv_batch(client.fd, &echo_buffer, slot, &echo_meta));
    }
}

test "a batch reports truncation per datagram" {
    const a = try Bound.open(4);
    defer a.close();
    const b = try Bound.open(4);
    defer b.close();
    try testing.expectEqual(2, lib.udp_send_to(a.fd, "ok", &b.address));
    try testing.expectEqual(9, lib.udp_send_to(a.fd, "too large", &b.address));
    var buffer: [2 * 4]u8 = undefined;
    var meta: [2]abi.Datagram = undefined;
    var received: usize = 0;
    while (received < 2) {
        const rc = lib.udp_recv_batch(b.fd, buffer[received * 4 ..], 4, meta[received..]);
        try testing.expect(rc > 0);
        received += @intCast(rc);
    }
    try testing.expectEqual(@as(u32, 0), meta[0].flags);
    try testing.expectEqual(abi.datagram_truncated, @as(u32, meta[1].flags));
    try testing.expectEqualStrings("too ", buffer[4..8]);
}

test "a batch send stops before a datagram it cannot send, and reports that one alone" {
    const a = try Bound.open(4);
    defer a.close();
    const b = try Bound.open(4);
    defer b.close();
    var buffer: [3 * 8]u8 = @splat(0);
    var meta = [3]abi.Datagram{
        .{ .len = 1, .flags = 0, .address = b.address },
        .{ .len = 1, .flags = 0, .address = b.address },
        .{ .len = 1, .flags = 0, .address = b.address },
    };
    meta[1].address.family = 5;
    try testing.expectEqual(1, lib.udp_send_batch(a.fd, &buffer, 8, &meta));
    try testing.expectEqual(neg(.AFNOSUPPORT), lib.udp_send_batch(a.fd, buffer[8..], 8, meta[1..]));
    meta[2].len = 9;
    try testing.expectEqual(neg(.INVAL), lib.udp_send_batch(a.fd, buffer[16..], 8, meta[2..]));
}

fn sleepMs(ms: u32) void {
    const duration = os.timespec{ .sec = @intCast(ms / 1000), .nsec = @intCast((ms % 1000) * std.time.ns_per_ms) };
    _ = os.nanosleep(&duration, null);
}

/// Receives entries on `fd` until they hold `datagrams` datagrams, into slots of `slot` bytes.
fn receiveDatagrams(fd: i32, buffer: []u8, slot: u32, meta: []abi.Datagram, datagrams: usize) !usize {
    var entries: usize = 0;
    var counted: usize = 0;
    var attempts: usize = 0;
    while (counted < datagrams) : (attempts += 1) {
        try testing.expect(attempts < 1000);
        const rc = lib.udp_recv_batch(fd, buffer[entries * slot ..], slot, meta[entries..]);
        if (rc == neg(.AGAIN)) {
            sleepMs(1);
            continue;
        }
        try testing.expect(rc > 0);
        for (meta[entries..][0..@intCast(rc)]) |entry| {
            counted += if (entry.segment_size == 0) 1 else std.math.divCeil(usize, entry.len, entry.segment_size) catch unreachable;
        }
        entries += @intCast(rc);
    }
    return entries;
}

test "with offload, a burst whose last datagram is shorter comes back whole, boundaries included" {
    if (builtin.os.tag != .linux) return error.SkipZigTest;
    for (families) |family| {
        const server = try Bound.open(family);
        defer server.close();
        const client = try Bound.open(family);
        defer client.close();
        try testing.expectEqual(0, lib.udp_enable_offload(server.fd));
        try testing.expectEqual(0, lib.udp_enable_offload(client.fd));

        // The client sends 5 datagrams of 100 bytes and one of 37 as one segmented entry.
        const slot = abi.coalesced_max;
        const send_buffer = try testing.allocator.alloc(u8, slot);
        defer testing.allocator.free(send_buffer);
        for (send_buffer[0..537], 0..) |*byte, index| byte.* = @truncate(index * 7);
        const burst = [1]abi.Datagram{.{ .len = 537, .flags = 0, .segment_size = 100, .address = server.address }};
        try testing.expectEqual(1, lib.udp_send_batch(client.fd, send_buffer, slot, &burst));

        // The server receives one coalesced entry (or, if the kernel split it, several) that
        // account for all six datagrams, and echoes each entry as it came.
        const recv_buffer = try testing.allocator.alloc(u8, 8 * slot);
        defer testing.allocator.free(recv_buffer);
        var meta: [8]abi.Datagram = undefined;
        const entries = try receiveDatagrams(server.fd, recv_buffer, slot, &meta, 6);
        try testing.expectEqual(1, entries);
        try testing.expectEqual(537, meta[0].len);
        try testing.expectEqual(100, meta[0].segment_size);
        try testing.expectEqual(client.address.port, meta[0].address.port);
        try testing.expectEqualSlices(u8, send_buffer[0..537], recv_buffer[0..537]);
        try testing.expectEqual(1, lib.udp_send_batch(server.fd, recv_buffer, slot, meta[0..1]));

        // Without offload a socket sees six datagrams: five of 100 bytes, one of 37.
        const plain = try Bound.open(family);
        defer plain.close();
        var to_plain = meta[0];
        to_plain.address = plain.address;
        try testing.expectEqual(1, lib.udp_send_batch(server.fd, recv_buffer, slot, (&to_plain)[0..1]));
        var plain_meta: [8]abi.Datagram = undefined;
        try testing.expectEqual(6, try receiveDatagrams(plain.fd, recv_buffer, slot, &plain_meta, 6));
        for (plain_meta[0..6], 0..) |entry, index| {
            try testing.expectEqual(@as(u32, if (index < 5) 100 else 37), entry.len);
            try testing.expectEqual(0, entry.segment_size);
            try testing.expectEqualSlices(u8, send_buffer[index * 100 ..][0..entry.len], recv_buffer[index * slot ..][0..entry.len]);
        }

        // The client gets the echo back coalesced, byte for byte.
        try testing.expectEqual(1, try receiveDatagrams(client.fd, recv_buffer, slot, &meta, 6));
        try testing.expectEqual(100, meta[0].segment_size);
        try testing.expectEqualSlices(u8, send_buffer[0..537], recv_buffer[0..537]);
    }
}

test "a segmented entry of more than segments_max datagrams is refused alone" {
    if (builtin.os.tag != .linux) return error.SkipZigTest;
    const a = try Bound.open(4);
    defer a.close();
    const b = try Bound.open(4);
    defer b.close();
    try testing.expectEqual(0, lib.udp_enable_offload(a.fd));
    const slot = 2048;
    var buffer: [2 * slot]u8 = @splat(1);
    var meta = [2]abi.Datagram{
        .{ .len = 10, .flags = 0, .segment_size = 5, .address = b.address },
        .{ .len = abi.segments_max * 10 + 1, .flags = 0, .segment_size = 10, .address = b.address },
    };
    try testing.expectEqual(1, lib.udp_send_batch(a.fd, &buffer, slot, &meta));
    try testing.expectEqual(neg(.INVAL), lib.udp_send_batch(a.fd, buffer[slot..], slot, meta[1..]));
    meta[1].len = abi.segments_max * 10;
    try testing.expectEqual(1, lib.udp_send_batch(a.fd, buffer[slot..], slot, meta[1..]));
}

test "bad arguments are errors, not crashes" {
    const socket = try Bound.open(4);
    defer socket.close();
    var buffer: [8]u8 = undefined;
    var meta: [1]abi.Datagram = undefined;
    var address = loopback(4, 9);

    try testing.expectEqual(neg(.AFNOSUPPORT), lib.udp_open(5));
    try testing.expectEqual(neg(.BADF), lib.udp_recv_from(-1, &buffer, &meta[0]));
    // A null pointer, memory too short for its struct, and memory misaligned for it.
    const address_bytes = lib.raw(&address);
    try testing.expectEqual(neg(.FAULT), root.br_udp_recv_from(socket.fd, null, 8, lib.raw(&meta[0]).ptr, 32));
    try testing.expectEqual(neg(.FAULT), root.br_udp_recv_from(socket.fd, &buffer, 8, null, 32));
    try testing.expectEqual(neg(.INVAL), root.br_udp_recv_from(socket.fd, &buffer, 8, lib.raw(&meta[0]).ptr, 31));
    try testing.expectEqual(neg(.FAULT), root.br_udp_send_to(socket.fd, &buffer, 1, null, 24));
    try testing.expectEqual(neg(.INVAL), root.br_udp_send_to(socket.fd, &buffer, 1, address_bytes.ptr, 23));
    try testing.expectEqual(neg(.FAULT), root.br_udp_bind(socket.fd, null, 24));
    var unaligned: [64]u8 align(8) = @splat(0);
    try testing.expectEqual(neg(.INVAL), root.br_udp_bind(socket.fd, unaligned[1..].ptr, 24));
    try testing.expectEqual(neg(.FAULT), root.br_poller_wait(null, 8, &unaligned, 64, 0));
    try testing.expectEqual(neg(.INVAL), root.br_poller_open(&unaligned, 7));
    try testing.expectEqual(neg(.FAULT), root.br_abi_layout(null, 0));
    // A batch needs room for one slot of a non-zero size and one datagram entry.
    try testing.expectEqual(neg(.INVAL), lib.udp_recv_batch(socket.fd, &buffer, 0, &meta));
    try testing.expectEqual(neg(.INVAL), lib.udp_recv_batch(socket.fd, &buffer, 16, &meta));
    try testing.expectEqual(neg(.INVAL), lib.udp_recv_batch(socket.fd, &buffer, 8, meta[0..0]));
    // An IPv6 address on an IPv4 socket, and an unknown family.
    address = loopback(6, 9);
    try testing.expect(lib.udp_send_to(socket.fd, "x", &address) < 0);
    address.family = 0;
    try testing.expectEqual(neg(.AFNOSUPPORT), lib.udp_send_to(socket.fd, "x", &address));
    // Unknown options and negative values.
    try testing.expectEqual(neg(.NOPROTOOPT), lib.udp_set_option(socket.fd, 99, 1));
    try testing.expectEqual(neg(.INVAL), lib.udp_set_option(socket.fd, 3, -1));
    try testing.expectEqual(neg(.BADF), lib.close(-5));
}

test "closing a socket twice is an error the second time" {
    const fd = lib.udp_open(4);
    try testing.expect(fd >= 0);
    try testing.expectEqual(0, lib.close(fd));
    try testing.expectEqual(neg(.BADF), lib.close(fd));
    var buffer: [8]u8 = undefined;
    var meta: abi.Datagram = undefined;
    try testing.expectEqual(neg(.BADF), lib.udp_recv_from(fd, &buffer, &meta));
}

test "the port is in use, unless both sockets ask to share it" {
    for (families) |family| {
        const first = try Bound.open(family);
        defer first.close();
        const second = lib.udp_open(family);
        defer _ = lib.close(second);
        try testing.expectEqual(neg(.ADDRINUSE), lib.udp_bind(second, &first.address));

        // Two sockets that both set SO_REUSEPORT before binding share one port.
        const a = lib.udp_open(family);
        defer _ = lib.close(a);
        const b = lib.udp_open(family);
        defer _ = lib.close(b);
        try testing.expectEqual(0, lib.udp_set_option(a, @backingInt(abi.Option.reuse_port), 1));
        try testing.expectEqual(0, lib.udp_set_option(b, @backingInt(abi.Option.reuse_port), 1));
        try testing.expectEqual(1, lib.udp_get_option(a, @backingInt(abi.Option.reuse_port)));
        var address = loopback(family, 0);
        try testing.expectEqual(0, lib.udp_bind(a, &address));
        try testing.expectEqual(0, lib.udp_local_address(a, &address));
        try testing.expectEqual(0, lib.udp_bind(b, &address));
    }
}

test "buffer sizes can be set and read back" {
    const fd = lib.udp_open(4);
    defer _ = lib.close(fd);
    try testing.expectEqual(0, lib.udp_set_option(fd, @backingInt(abi.Option.recv_buffer), 65536));
    try testing.expect(lib.udp_get_option(fd, @backingInt(abi.Option.recv_buffer)) >= 65536);
    try testing.expectEqual(0, lib.udp_set_option(fd, @backingInt(abi.Option.send_buffer), 65536));
    try testing.expect(lib.udp_get_option(fd, @backingInt(abi.Option.send_buffer)) >= 65536);
}

test "a watched signal becomes a byte on the signal descriptor" {
    if (builtin.os.tag != .linux) return error.SkipZigTest;
    const linux = std.os.linux;
    const usr1: u32 = @backingInt(linux.SIG.USR1);
    try testing.expectEqual(neg(.INVAL), lib.signals_open(0));
    try testing.expectEqual(neg(.INVAL), lib.signals_open(@as(u32, 1) << @intCast(@backingInt(linux.SIG.SEGV))));

    const fd = lib.signals_open(@as(u32, 1) << @intCast(usr1));
    try testing.expect(fd >= 0);
    try suite.expectDescriptorFlags(fd, true);
    // One watch at a time.
    try testing.expectEqual(neg(.BUSY), lib.signals_open(@as(u32, 1) << @intCast(usr1)));

    // Nothing yet; SIGUSR1 arrives; its number can be read.
    var byte: [4]u8 = undefined;
    try testing.expectEqual(neg(.AGAIN), lib.read(fd, &byte));
    _ = linux.kill(linux.getpid(), linux.SIG.USR1);
    try testing.expectEqual(1, lib.read(fd, &byte));
    try testing.expectEqual(@as(u8, @intCast(usr1)), byte[0]);

    try testing.expectEqual(neg(.BADF), lib.signals_close(fd + 100));
    try testing.expectEqual(0, lib.signals_close(fd));
    try testing.expectEqual(neg(.BADF), lib.signals_close(fd));
}

test "the constants export lists every shared constant by name" {
    var text: [4096]u8 = undefined;
    const len = root.br_abi_constants(&text, text.len);
    try testing.expect(len > 0);
    const listed = text[0..@intCast(len)];
    try testing.expect(std.mem.indexOf(u8, listed, "interest_readable 1\n") != null);
    try testing.expect(std.mem.indexOf(u8, listed, "token_waker 18446744073709551615\n") != null);
    try testing.expect(std.mem.indexOf(u8, listed, "datagram_truncated 1\n") != null);
    try testing.expect(std.mem.indexOf(u8, listed, "option.ipv6_only 5\n") != null);
    try testing.expectEqual(neg(.RANGE), root.br_abi_constants(&text, 8));
}

test "each of the library's errors stands for its own errno, so -errno loses nothing" {
    const names = comptime @typeInfo(sys.Error).error_set.error_names.?;
    var seen: [names.len]sys.E = undefined;
    inline for (names, 0..) |name, index| {
        const e = root.errno(@field(sys.Error, name));
        try testing.expect(e != .SUCCESS);
        try testing.expect(std.mem.indexOfScalar(sys.E, seen[0..index], e) == null);
        seen[index] = e;
    }
}

test {
    _ = @import("fault.zig");
}

test "fault injection is compiled out of a normal build: configuring it is ENOSYS" {
    if (@import("fault.zig").enabled) return error.SkipZigTest;
    try std.testing.expectEqual(-@as(i32, @backingInt(sys.E.NOSYS)), root.br_fault_configure(1, 1000));
    try std.testing.expectEqual(-@as(i32, @backingInt(sys.E.NOSYS)), root.br_fault_count(0, 0));
}

test "datagrams the kernel drops for a full receive buffer are counted, and only those" {
    if (builtin.os.tag != .linux) return error.SkipZigTest;
    for (families) |family| {
        const sender = try Bound.open(family);
        defer sender.close();
        const receiver = try Bound.open(family);
        defer receiver.close();
        // A receive buffer of a few datagrams, and nobody receiving while 200 arrive.
        try testing.expectEqual(0, lib.udp_set_option(receiver.fd, @backingInt(abi.Option.recv_buffer), 4096));
        try testing.expectEqual(0, root.br_udp_kernel_drops(receiver.fd));
        const payload: [1000]u8 = @splat(7);
        for (0..200) |_| try testing.expectEqual(1000, lib.udp_send_to(sender.fd, &payload, &receiver.address));
        var received: i32 = 0;
        var buffer: [1000]u8 = undefined;
        var datagram: abi.Datagram = undefined;
        while (lib.udp_recv_from(receiver.fd, &buffer, &datagram) == 1000) received += 1;
        // Every datagram sent was either received or dropped by the kernel, and some were dropped.
        try testing.expect(received > 0 and received < 200);
        try testing.expectEqual(200 - received, root.br_udp_kernel_drops(receiver.fd));
    }
}

test "a reply to a closed port comes back from the error queue as ECONNREFUSED, naming its destination" {
    if (builtin.os.tag != .linux) return error.SkipZigTest;
    for (families) |family| {
        const server = try Bound.open(family);
        defer server.close();
        try testing.expectEqual(0, root.br_udp_enable_error_queue(server.fd, family));
        var departed = loopback(family, 0);
        {
            // A client that leaves: its port is closed by the time the reply comes.
            const client = try Bound.open(family);
            departed = client.address;
            client.close();
        }
        var queued: abi.QueuedError = undefined;
        try testing.expectEqual(neg(.AGAIN), root.br_udp_recv_error(server.fd, lib.raw(&queued).ptr, @sizeOf(abi.QueuedError)));
        try testing.expectEqual(5, lib.udp_send_to(server.fd, "reply", &departed));
        // The socket reports an error (POLLERR) once the ICMP message is queued.
        var pollfd = [1]std.os.linux.pollfd{.{ .fd = server.fd, .events = 0, .revents = 0 }};
        try testing.expectEqual(1, std.os.linux.poll(&pollfd, 1, 1000));
        try testing.expect(pollfd[0].revents & std.os.linux.POLL.ERR != 0);
        const code = root.br_udp_recv_error(server.fd, lib.raw(&queued).ptr, @sizeOf(abi.QueuedError));
        try testing.expectEqual(@as(i32, @backingInt(sys.E.CONNREFUSED)), code);
        try testing.expectEqual(code, @as(i32, @intCast(queued.errno)));
        try testing.expectEqual(0, queued.mtu);
        try testing.expectEqual(departed.port, queued.address.port);
        try testing.expectEqualSlices(u8, &departed.bytes, &queued.address.bytes);
        // One error, read once.
        try testing.expectEqual(neg(.AGAIN), root.br_udp_recv_error(server.fd, lib.raw(&queued).ptr, @sizeOf(abi.QueuedError)));
    }
}

test "a thread narrowed to one of its CPUs runs there alone, and gets the others back" {
    if (builtin.os.tag != .linux) {
        var mask = std.mem.zeroes(sys.CpuMask);
        try testing.expectEqual(neg(.OPNOTSUPP), root.br_thread_cpus(0, &mask, mask.len));
        return;
    }
    const tid = root.br_thread_id();
    try testing.expect(tid > 0);
    var allowed = std.mem.zeroes(sys.CpuMask);
    try testing.expectEqual(0, root.br_thread_cpus(0, &allowed, allowed.len));
    // The same mask by the thread's id as by 0.
    var by_id = std.mem.zeroes(sys.CpuMask);
    try testing.expectEqual(0, root.br_thread_cpus(tid, &by_id, by_id.len));
    try testing.expectEqualSlices(u8, &allowed, &by_id);
    // Narrowed to its lowest CPU: that one alone is listed.
    const first = for (allowed, 0..) |byte, index| {
        if (byte != 0) break index * 8 + @ctz(byte);
    } else return error.NoCpuAllowed;
    var one_cpu = std.mem.zeroes(sys.CpuMask);
    one_cpu[first / 8] = @as(u8, 1) << @intCast(first % 8);
    try testing.expectEqual(0, root.br_thread_set_cpus(0, &one_cpu, one_cpu.len));
    var now = std.mem.zeroes(sys.CpuMask);
    try testing.expectEqual(0, root.br_thread_cpus(0, &now, now.len));
    try testing.expectEqualSlices(u8, &one_cpu, &now);
    try testing.expectEqual(0, root.br_thread_set_cpus(tid, &allowed, allowed.len));
    try testing.expectEqual(0, root.br_thread_cpus(0, &now, now.len));
    try testing.expectEqualSlices(u8, &allowed, &now);
    // No CPU at all is refused, and a mask too short for the kernel's set is refused before the call.
    const none = std.mem.zeroes(sys.CpuMask);
    try testing.expectEqual(neg(.INVAL), root.br_thread_set_cpus(0, @constCast(&none), none.len));
    try testing.expectEqual(neg(.INVAL), root.br_thread_cpus(0, &now, 64));
    try testing.expectEqual(neg(.INVAL), root.br_thread_cpus(-1, &now, now.len));
}

test {
    _ = @import("tests_info.zig");
    _ = @import("tests_ip.zig");
}
