//! Behaviour tests of datagram info (`datagram_info.zig`) through the C ABI: the destination
//! and interface of each received datagram, the source of each send, and the traffic class
//! both ways. A socket bound to the wildcard address receives what is sent to 127.0.0.2 and
//! 127.0.0.3, which every Linux loopback answers to.

const std = @import("std");
const builtin = @import("builtin");
const abi = @import("abi.zig");
const sys = @import("sys.zig");
const root = @import("root.zig");

const testing = std.testing;

fn neg(e: sys.E) i32 {
    return -@as(i32, @backingInt(e));
}

fn raw(ptr: anytype) [*]u8 {
    return std.mem.asBytes(@constCast(ptr)).ptr;
}

fn rawSlice(items: anytype) [*]u8 {
    return std.mem.sliceAsBytes(@constCast(items)).ptr;
}

fn v4(a: u8, b: u8, c: u8, d: u8, port: u16) abi.Address {
    var address = std.mem.zeroes(abi.Address);
    address.family = 4;
    address.port = port;
    address.bytes[0..4].* = .{ a, b, c, d };
    return address;
}

/// `::ffff:a.b.c.d`.
fn mapped(a: u8, b: u8, c: u8, d: u8, port: u16) abi.Address {
    var address = std.mem.zeroes(abi.Address);
    address.family = 6;
    address.port = port;
    address.bytes[10..16].* = .{ 0xff, 0xff, a, b, c, d };
    return address;
}

fn v6Loopback(port: u16) abi.Address {
    var address = std.mem.zeroes(abi.Address);
    address.family = 6;
    address.port = port;
    address.bytes[15] = 1;
    return address;
}

/// A socket of `address`'s family bound to it (port 0: the kernel picks), with its real address.
const Bound = struct {
    fd: i32,
    address: abi.Address,

    fn open(address: abi.Address) !Bound {
        const fd = root.br_udp_open(address.family);
        try testing.expect(fd >= 0);
        errdefer _ = root.br_close(fd);
        var local = address;
        try testing.expectEqual(0, root.br_udp_bind(fd, raw(&local), @sizeOf(abi.Address)));
        try testing.expectEqual(0, root.br_udp_local_address(fd, raw(&local), @sizeOf(abi.Address)));
        return .{ .fd = fd, .address = local };
    }

    fn close(self: Bound) void {
        std.debug.assert(root.br_close(self.fd) == 0);
    }

    /// Where a peer reaches this socket at `host` (same port).
    fn at(self: Bound, host: abi.Address) abi.Address {
        var address = host;
        address.port = self.address.port;
        return address;
    }
};

fn sendTo(fd: i32, payload: []const u8, to: abi.Address) !void {
    try testing.expectEqual(@as(i32, @intCast(payload.len)), root.br_udp_send_to(fd, @constCast(payload.ptr), payload.len, raw(&to), @sizeOf(abi.Address)));
}

fn sendToInfo(fd: i32, payload: []const u8, to: abi.Address, info: abi.DatagramInfo) i32 {
    return root.br_udp_send_to_info(fd, @constCast(payload.ptr), payload.len, raw(&to), @sizeOf(abi.Address), raw(&info), @sizeOf(abi.DatagramInfo));
}

/// Waits up to five seconds for `fd` to be readable (loopback delivers at once, as a rule).
fn waitReadable(fd: i32) !void {
    var poller: abi.Poller = undefined;
    try testing.expectEqual(0, root.br_poller_open(raw(&poller), @sizeOf(abi.Poller)));
    defer std.debug.assert(root.br_poller_close(raw(&poller), @sizeOf(abi.Poller)) == 0);
    try testing.expectEqual(0, root.br_poller_register(raw(&poller), @sizeOf(abi.Poller), fd, 1, abi.interest_readable));
    var events: [1]abi.Event = undefined;
    try testing.expectEqual(1, root.br_poller_wait(raw(&poller), @sizeOf(abi.Poller), rawSlice(&events), @sizeOf(@TypeOf(events)), 5000));
}

/// Receives one datagram with its info.
fn recvInfo(fd: i32, buffer: []u8, datagram: *abi.Datagram, info: *abi.DatagramInfo) !usize {
    try waitReadable(fd);
    const rc = root.br_udp_recv_from_info(fd, buffer.ptr, buffer.len, raw(datagram), @sizeOf(abi.Datagram), raw(info), @sizeOf(abi.DatagramInfo));
    try testing.expect(rc >= 0);
    return @intCast(rc);
}

fn expectHost(expected: abi.Address, actual: abi.Address) !void {
    try testing.expectEqual(expected.family, actual.family);
    try testing.expectEqualSlices(u8, &expected.bytes, &actual.bytes);
}

fn localInfo(local: abi.Address) abi.DatagramInfo {
    var info = std.mem.zeroes(abi.DatagramInfo);
    info.local = local;
    info.flags = abi.info_local;
    return info;
}

test "datagram info is off until asked for, and what was asked reads back" {
    const server = try Bound.open(v4(0, 0, 0, 0, 0));
    defer server.close();
    try testing.expectEqual(0, root.br_udp_get_datagram_info(server.fd));
    try testing.expectEqual(0, root.br_udp_set_datagram_info(server.fd, abi.info_local));
    try testing.expectEqual(@as(i32, abi.info_local), root.br_udp_get_datagram_info(server.fd));
    try testing.expectEqual(0, root.br_udp_set_datagram_info(server.fd, abi.info_reported));
    try testing.expectEqual(@as(i32, abi.info_reported), root.br_udp_get_datagram_info(server.fd));
    try testing.expectEqual(0, root.br_udp_set_datagram_info(server.fd, 0));
    try testing.expectEqual(0, root.br_udp_get_datagram_info(server.fd));
    // Bits it does not know are refused, and change nothing.
    try testing.expectEqual(neg(.INVAL), root.br_udp_set_datagram_info(server.fd, 4));
    try testing.expectEqual(0, root.br_udp_get_datagram_info(server.fd));
}

test "a wildcard socket reports the address each datagram was sent to, and replies from it" {
    if (builtin.os.tag != .linux) return error.SkipZigTest; // 127.0.0.2 answers on Linux's loopback only
    const server = try Bound.open(v4(0, 0, 0, 0, 0));
    defer server.close();
    try testing.expectEqual(0, root.br_udp_set_datagram_info(server.fd, abi.info_local));
    const client = try Bound.open(v4(127, 0, 0, 1, 0));
    defer client.close();
    var buffer: [64]u8 = undefined;
    var datagram: abi.Datagram = undefined;
    var info: abi.DatagramInfo = undefined;

    for ([_]u8{ 2, 3 }) |last| {
        // The client sends to 127.0.0.<last>; the server learns that address and the interface.
        try sendTo(client.fd, "ping", server.at(v4(127, 0, 0, last, 0)));
        try testing.expectEqual(4, try recvInfo(server.fd, &buffer, &datagram, &info));
        try testing.expectEqual(@as(u8, abi.info_local), info.flags);
        try expectHost(v4(127, 0, 0, last, 0), info.local);
        try testing.expect(info.interface != 0); // lo

        // The reply goes with that info, unchanged the first time, through the interface it came
        // in on the second; either way the client sees it come from the address it used.
        var reply_as = info;
        if (last == 3) reply_as.flags |= abi.info_interface;
        try testing.expectEqual(4, sendToInfo(server.fd, "pong", datagram.address, reply_as));
        var reply: abi.Datagram = undefined;
        var reply_info: abi.DatagramInfo = undefined;
        try testing.expectEqual(4, try recvInfo(client.fd, &buffer, &reply, &reply_info));
        try expectHost(v4(127, 0, 0, last, 0), reply.address);
        try testing.expectEqual(server.address.port, reply.address.port);
        // The client did not ask for info: none is reported.
        try testing.expectEqual(@as(u8, 0), reply_info.flags);
    }
}

test "a dual-stack socket reports an IPv4 datagram's destination v4-mapped, and replies from it" {
    if (builtin.os.tag != .linux) return error.SkipZigTest;
    var any = std.mem.zeroes(abi.Address);
    any.family = 6;
    const server = try Bound.open(any);
    defer server.close();
    try testing.expectEqual(0, root.br_udp_set_datagram_info(server.fd, abi.info_reported));
    const client = try Bound.open(v4(127, 0, 0, 1, 0));
    defer client.close();
    var buffer: [64]u8 = undefined;
    var datagram: abi.Datagram = undefined;
    var info: abi.DatagramInfo = undefined;

    try sendTo(client.fd, "ping", server.at(v4(127, 0, 0, 3, 0)));
    try testing.expectEqual(4, try recvInfo(server.fd, &buffer, &datagram, &info));
    try expectHost(mapped(127, 0, 0, 3, 0), info.local);
    try expectHost(mapped(127, 0, 0, 1, 0), datagram.address);
    // Its TOS byte is reported too, at the IPv4 level: 0 here.
    try testing.expect(info.flags & abi.info_traffic_class != 0);

    var reply_info = localInfo(info.local);
    reply_info.flags |= abi.info_traffic_class;
    reply_info.traffic_class = 0b10; // ECT(0)
    try testing.expectEqual(4, sendToInfo(server.fd, "pong", datagram.address, reply_info));
    try testing.expectEqual(0, root.br_udp_set_datagram_info(client.fd, abi.info_traffic_class));
    var reply: abi.Datagram = undefined;
    try testing.expectEqual(4, try recvInfo(client.fd, &buffer, &reply, &info));
    try expectHost(v4(127, 0, 0, 3, 0), reply.address);
    try testing.expectEqual(@as(u8, 0b10), info.traffic_class & 0b11);
}

test "each ECN codepoint set on a send is seen on the receiving side, IPv4 and IPv6" {
    for ([_]abi.Address{ v4(127, 0, 0, 1, 0), v6Loopback(0) }) |host| {
        const receiver = try Bound.open(host);
        defer receiver.close();
        const sender = try Bound.open(host);
        defer sender.close();
        try testing.expectEqual(0, root.br_udp_set_datagram_info(receiver.fd, abi.info_traffic_class));
        var buffer: [64]u8 = undefined;
        var datagram: abi.Datagram = undefined;
        var info: abi.DatagramInfo = undefined;
        for ([_]u8{ 0b00, 0b01, 0b10, 0b11 }) |ecn| {
            var asked = std.mem.zeroes(abi.DatagramInfo);
            asked.flags = abi.info_traffic_class;
            asked.traffic_class = ecn;
            try testing.expectEqual(3, sendToInfo(sender.fd, "ecn", receiver.address, asked));
            try testing.expectEqual(3, try recvInfo(receiver.fd, &buffer, &datagram, &info));
            try testing.expectEqual(@as(u8, abi.info_traffic_class), info.flags);
            try testing.expectEqual(ecn, info.traffic_class & 0b11);
        }
    }
}

test "a batch receives each entry's destination, and sends each from its own source, segmented too" {
    if (builtin.os.tag != .linux) return error.SkipZigTest;
    const server = try Bound.open(v4(0, 0, 0, 0, 0));
    defer server.close();
    try testing.expectEqual(0, root.br_udp_set_datagram_info(server.fd, abi.info_reported));
    try testing.expectEqual(0, root.br_udp_enable_offload(server.fd));
    const client = try Bound.open(v4(127, 0, 0, 1, 0));
    defer client.close();
    try testing.expectEqual(0, root.br_udp_set_datagram_info(client.fd, abi.info_traffic_class));

    // Two datagrams, to 127.0.0.2 and 127.0.0.3.
    try sendTo(client.fd, "two", server.at(v4(127, 0, 0, 2, 0)));
    try sendTo(client.fd, "three", server.at(v4(127, 0, 0, 3, 0)));
    const slot = 64;
    var slots: [4 * slot]u8 = undefined;
    var datagrams: [4]abi.Datagram = undefined;
    var infos: [4]abi.DatagramInfo = undefined;
    try waitReadable(server.fd);
    try testing.expectEqual(2, root.br_udp_recv_batch_info(server.fd, &slots, slots.len, slot, rawSlice(&datagrams), @sizeOf(@TypeOf(datagrams)), rawSlice(&infos), @sizeOf(@TypeOf(infos))));
    try expectHost(v4(127, 0, 0, 2, 0), infos[0].local);
    try expectHost(v4(127, 0, 0, 3, 0), infos[1].local);

    // The replies go from those addresses, the second as two segments of 3 bytes with CE set.
    @memcpy(slots[slot..][0..6], "threeX");
    datagrams[1].len = 6;
    datagrams[1].segment_size = 3;
    infos[0] = localInfo(infos[0].local);
    infos[1] = localInfo(infos[1].local);
    infos[1].flags |= abi.info_traffic_class;
    infos[1].traffic_class = 0b11;
    try testing.expectEqual(2, root.br_udp_send_batch_info(server.fd, &slots, slots.len, slot, rawSlice(&datagrams), 2 * @sizeOf(abi.Datagram), rawSlice(&infos), 2 * @sizeOf(abi.DatagramInfo)));
    var buffer: [64]u8 = undefined;
    var reply: abi.Datagram = undefined;
    var info: abi.DatagramInfo = undefined;
    try testing.expectEqual(3, try recvInfo(client.fd, &buffer, &reply, &info));
    try expectHost(v4(127, 0, 0, 2, 0), reply.address);
    for ([_][]const u8{ "thr", "eeX" }) |expected| {
        try testing.expectEqual(3, try recvInfo(client.fd, &buffer, &reply, &info));
        try testing.expectEqualStrings(expected, buffer[0..3]);
        try expectHost(v4(127, 0, 0, 3, 0), reply.address);
        try testing.expectEqual(@as(u8, 0b11), info.traffic_class & 0b11);
    }
}

test "info a send cannot honour is refused before anything is sent" {
    const sender = try Bound.open(v4(127, 0, 0, 1, 0));
    defer sender.close();
    const receiver = try Bound.open(v4(127, 0, 0, 1, 0));
    defer receiver.close();
    var info = std.mem.zeroes(abi.DatagramInfo);

    // Unknown flags.
    info.flags = 0x80;
    try testing.expectEqual(neg(.INVAL), sendToInfo(sender.fd, "x", receiver.address, info));
    // An IPv6 source for an IPv4 destination.
    info = localInfo(v6Loopback(0));
    try testing.expectEqual(neg(.INVAL), sendToInfo(sender.fd, "x", receiver.address, info));
    // An interface without a source beside it.
    info = std.mem.zeroes(abi.DatagramInfo);
    info.flags = abi.info_interface;
    info.interface = 1;
    try testing.expectEqual(neg(.INVAL), sendToInfo(sender.fd, "x", receiver.address, info));
    // A v4-mapped source for a plain IPv6 destination.
    info = localInfo(mapped(127, 0, 0, 1, 0));
    try testing.expectEqual(neg(.INVAL), sendToInfo(sender.fd, "x", v6Loopback(receiver.address.port), info));
    // Memory too short for the info.
    const payload = "x";
    var to = receiver.address;
    try testing.expectEqual(neg(.INVAL), root.br_udp_send_to_info(sender.fd, @constCast(payload.ptr), 1, raw(&to), @sizeOf(abi.Address), raw(&info), @sizeOf(abi.DatagramInfo) - 1));
    try testing.expectEqual(neg(.FAULT), root.br_udp_send_to_info(sender.fd, @constCast(payload.ptr), 1, raw(&to), @sizeOf(abi.Address), null, 0));

    // None of them reached the receiver.
    var buffer: [8]u8 = undefined;
    var datagram: abi.Datagram = undefined;
    try testing.expectEqual(neg(.AGAIN), root.br_udp_recv_from(receiver.fd, &buffer, buffer.len, raw(&datagram), @sizeOf(abi.Datagram)));
}
