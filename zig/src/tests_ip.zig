//! Behaviour tests of connected sockets, the IP layer's options and multicast memberships
//! (`ip.zig`) through the C ABI. Multicast delivery itself is tested across network namespaces,
//! from TypeScript (`test/multicast.test.ts`).

const std = @import("std");
const abi = @import("abi.zig");
const sys = @import("sys.zig");
const root = @import("root.zig");

const testing = std.testing;

fn neg(e: sys.E) i32 {
    return -@as(i32, @backingInt(e));
}

const families = [_]u16{ 4, 6 };

const lib = struct {
    const close = root.br_close;
    const udp_open = root.br_udp_open;

    fn raw(ptr: anytype) []u8 {
        return std.mem.asBytes(@constCast(ptr));
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
    fn udp_send_batch(fd: i32, buffer: []const u8, slot_size: u32, datagrams: []const abi.Datagram) i32 {
        const bytes = std.mem.sliceAsBytes(@constCast(datagrams));
        return root.br_udp_send_batch(fd, @constCast(buffer.ptr), buffer.len, slot_size, bytes.ptr, bytes.len);
    }
};

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
        var address = loopback(family, 0);
        try testing.expectEqual(0, root.br_udp_bind(fd, lib.raw(&address).ptr, @sizeOf(abi.Address)));
        try testing.expectEqual(0, lib.udp_local_address(fd, &address));
        return .{ .fd = fd, .address = address };
    }

    fn close(self: Bound) void {
        std.debug.assert(lib.close(self.fd) == 0);
    }
};

test "every IP option can be set and read back, on both families; out-of-range values are EINVAL" {
    const set = root.br_udp_set_ip_option;
    const get = root.br_udp_get_ip_option;
    for (families) |family| {
        const fd = lib.udp_open(family);
        defer _ = lib.close(fd);
        const cases = [_]struct { abi.IpOption, i32 }{
            .{ .broadcast, 1 },     .{ .ttl, 7 },            .{ .tos, 0xb8 },
            .{ .multicast_ttl, 5 }, .{ .multicast_loop, 0 }, .{ .dont_fragment, 1 },
        };
        for (cases) |case| {
            const option = @backingInt(case[0]);
            try testing.expectEqual(0, set(fd, family, option, case[1]));
            try testing.expectEqual(case[1], get(fd, family, option));
        }
        try testing.expectEqual(0, set(fd, family, @backingInt(abi.IpOption.dont_fragment), 0));
        try testing.expectEqual(0, get(fd, family, @backingInt(abi.IpOption.dont_fragment)));
        try testing.expectEqual(neg(.INVAL), set(fd, family, @backingInt(abi.IpOption.ttl), 0));
        try testing.expectEqual(neg(.INVAL), set(fd, family, @backingInt(abi.IpOption.tos), 256));
        try testing.expectEqual(neg(.INVAL), set(fd, family, @backingInt(abi.IpOption.broadcast), 2));
        try testing.expectEqual(neg(.INVAL), set(fd, family, @backingInt(abi.IpOption.path_mtu), 1280));
        try testing.expectEqual(neg(.NOPROTOOPT), set(fd, family, 99, 1));
        try testing.expectEqual(neg(.AFNOSUPPORT), set(fd, 5, @backingInt(abi.IpOption.ttl), 1));
    }
}

test "a connected socket sends without an address, names its peer, and hears only that peer" {
    for (families) |family| {
        const a = try Bound.open(family);
        defer a.close();
        const b = try Bound.open(family);
        defer b.close();
        const stranger = try Bound.open(family);
        defer stranger.close();
        var peer: abi.Address = undefined;
        try testing.expectEqual(neg(.NOTCONN), root.br_udp_peer_address(a.fd, lib.raw(&peer).ptr, @sizeOf(abi.Address)));
        try testing.expectEqual(0, root.br_udp_connect(a.fd, lib.raw(&b.address).ptr, @sizeOf(abi.Address)));
        try testing.expectEqual(0, root.br_udp_peer_address(a.fd, lib.raw(&peer).ptr, @sizeOf(abi.Address)));
        try testing.expectEqual(b.address.port, peer.port);
        // The stranger's datagram is dropped by the kernel; b's arrives.
        try testing.expectEqual(8, lib.udp_send_to(stranger.fd, "stranger", &a.address));
        try testing.expectEqual(4, lib.udp_send_to(b.fd, "peer", &a.address));
        var buffer: [16]u8 = undefined;
        var datagram: abi.Datagram = undefined;
        try testing.expectEqual(4, lib.udp_recv_from(a.fd, &buffer, &datagram));
        try testing.expectEqualStrings("peer", buffer[0..4]);
        try testing.expectEqual(neg(.AGAIN), lib.udp_recv_from(a.fd, &buffer, &datagram));
        // A send without an address goes to the peer, and so does a batch entry of family 0.
        try testing.expectEqual(5, root.br_udp_send(a.fd, @constCast("hello".ptr), 5));
        try testing.expectEqual(5, lib.udp_recv_from(b.fd, &buffer, &datagram));
        var entries = [1]abi.Datagram{.{ .len = 5, .flags = 0, .address = std.mem.zeroes(abi.Address) }};
        try testing.expectEqual(1, lib.udp_send_batch(a.fd, "batch", 5, &entries));
        try testing.expectEqual(5, lib.udp_recv_from(b.fd, &buffer, &datagram));
        try testing.expectEqualStrings("batch", buffer[0..5]);
        // Disconnected, it has no peer and hears everyone again.
        try testing.expectEqual(0, root.br_udp_disconnect(a.fd, lib.raw(&a.address).ptr, @sizeOf(abi.Address)));
        var after: abi.Address = undefined;
        try testing.expectEqual(0, lib.udp_local_address(a.fd, &after));
        try testing.expectEqual(a.address.port, after.port);
        try testing.expectEqual(neg(.NOTCONN), root.br_udp_peer_address(a.fd, lib.raw(&peer).ptr, @sizeOf(abi.Address)));
        try testing.expectEqual(8, lib.udp_send_to(stranger.fd, "stranger", &a.address));
        try testing.expectEqual(8, lib.udp_recv_from(a.fd, &buffer, &datagram));
    }
}

test "a connected socket reports its peer's closed port on the next call" {
    for (families) |family| {
        const a = try Bound.open(family);
        defer a.close();
        var departed: abi.Address = undefined;
        {
            const client = try Bound.open(family);
            departed = client.address;
            client.close();
        }
        try testing.expectEqual(0, root.br_udp_connect(a.fd, lib.raw(&departed).ptr, @sizeOf(abi.Address)));
        try testing.expectEqual(4, root.br_udp_send(a.fd, @constCast("ping".ptr), 4));
        var pollfd = [1]std.posix.pollfd{.{ .fd = a.fd, .events = std.posix.POLL.IN, .revents = 0 }};
        try testing.expectEqual(1, try std.posix.poll(&pollfd, 1000));
        var buffer: [16]u8 = undefined;
        var datagram: abi.Datagram = undefined;
        try testing.expectEqual(neg(.CONNREFUSED), lib.udp_recv_from(a.fd, &buffer, &datagram));
    }
}

test "multicast memberships: bad groups, interfaces and families are refused, not crashes" {
    const fd = lib.udp_open(4);
    defer _ = lib.close(fd);
    var membership = std.mem.zeroes(abi.Membership);
    membership.group = loopback(4, 0); // not a multicast address
    try testing.expectEqual(neg(.INVAL), root.br_udp_membership(fd, 1, lib.raw(&membership).ptr, @sizeOf(abi.Membership)));
    membership.group.family = 9;
    try testing.expectEqual(neg(.AFNOSUPPORT), root.br_udp_membership(fd, 1, lib.raw(&membership).ptr, @sizeOf(abi.Membership)));
    try testing.expectEqual(neg(.INVAL), root.br_udp_membership(fd, 2, lib.raw(&membership).ptr, @sizeOf(abi.Membership)));
    try testing.expectEqual(neg(.INVAL), root.br_udp_membership(fd, 1, lib.raw(&membership).ptr, 8));
    try testing.expectEqual(neg(.NODEV), root.br_interface_index(@constCast("no-such-if0".ptr), 11));
    try testing.expectEqual(neg(.NODEV), root.br_interface_index(@constCast("".ptr), 0));
    try testing.expect(root.br_interface_index(@constCast("lo".ptr), 2) > 0);
}

test "a send without an address on a socket that is not connected is ENOTCONN, for one datagram or a batch entry" {
    for (families) |family| {
        const a = try Bound.open(family);
        defer a.close();
        try testing.expectEqual(neg(.NOTCONN), root.br_udp_send(a.fd, @constCast("x".ptr), 1));
        var entries = [1]abi.Datagram{.{ .len = 1, .flags = 0, .address = std.mem.zeroes(abi.Address) }};
        try testing.expectEqual(neg(.NOTCONN), lib.udp_send_batch(a.fd, "x", 1, &entries));
    }
}
