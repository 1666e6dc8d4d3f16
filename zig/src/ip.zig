//! The IP layer of a UDP socket: options whose level and name depend on the socket's family and
//! on the OS (`abi.IpOption`), multicast memberships, and the interface multicast leaves by.
//!
//! Memberships use the protocol-independent calls of RFC 3678 (`MCAST_JOIN_GROUP`,
//! `MCAST_JOIN_SOURCE_GROUP` and their leaves), which Linux, FreeBSD and macOS all have, for
//! IPv4 and IPv6 alike, with the interface named by its index. Their structs differ by OS:
//! macOS packs them to 4 bytes (`#pragma pack(4)` in netinet/in.h), the others align the
//! `sockaddr_storage` to 8.

const std = @import("std");
const builtin = @import("builtin");
const abi = @import("abi.zig");
const sys = @import("sys.zig");
const udp = @import("udp.zig");

const os = builtin.os.tag;
const linux = os == .linux;
const darwin = os == .macos;

/// The `MCAST_*` option numbers: linux/in.h, and netinet/in.h on FreeBSD and macOS.
const mcast = if (linux)
    .{ .join = 42, .leave = 45, .join_source = 46, .leave_source = 47 }
else
    .{ .join = 80, .leave = 81, .join_source = 82, .leave_source = 83 };

/// `struct sockaddr_storage`, as bytes: the structs below set their own alignment.
const Storage = [128]u8;

/// `struct group_req` and `struct group_source_req`.
const GroupRequest = if (darwin)
    extern struct { interface: u32 align(4), group: Storage }
else
    extern struct { interface: u32 align(8), pad: u32 = 0, group: Storage };
const SourceGroupRequest = if (darwin)
    extern struct { interface: u32 align(4), group: Storage, source: Storage }
else
    extern struct { interface: u32 align(8), pad: u32 = 0, group: Storage, source: Storage };

comptime {
    std.debug.assert(@sizeOf(GroupRequest) == if (darwin) 132 else 136);
    std.debug.assert(@sizeOf(SourceGroupRequest) == if (darwin) 260 else 264);
    std.debug.assert(@offsetOf(GroupRequest, "group") == if (darwin) 4 else 8);
}

/// `struct ip_mreqn` (Linux, FreeBSD): IP_MULTICAST_IF by interface index.
const RequestN = extern struct { multiaddr: u32 = 0, address: u32 = 0, ifindex: i32 };

/// Where an option lives, and whether the OS wants it as one byte (the BSDs' `u_char` for the
/// IPv4 multicast TTL and loop, ip(4)).
const Spec = struct { level: i32, name: u32, byte: bool = false };

fn ipv6(family: u32) error{AddressFamilyUnsupported}!bool {
    return switch (family) {
        4 => false,
        6 => true,
        else => error.AddressFamilyUnsupported,
    };
}

fn spec(family: u32, option: abi.IpOption) error{ AddressFamilyUnsupported, OptionUnsupported }!Spec {
    const v6 = try ipv6(family);
    const IP: i32 = sys.IPPROTO.IP;
    const IPV6: i32 = sys.IPPROTO.IPV6;
    return switch (option) {
        .broadcast => .{ .level = sys.SOL.SOCKET, .name = sys.SO.BROADCAST },
        .ttl => if (v6) .{ .level = IPV6, .name = sys.IPV6.UNICAST_HOPS } else .{ .level = IP, .name = sys.IP.TTL },
        .tos => if (v6) .{ .level = IPV6, .name = sys.IPV6.TCLASS } else .{ .level = IP, .name = sys.IP.TOS },
        .multicast_ttl => if (v6)
            .{ .level = IPV6, .name = sys.IPV6.MULTICAST_HOPS }
        else
            .{ .level = IP, .name = sys.IP.MULTICAST_TTL, .byte = !linux },
        .multicast_loop => if (v6)
            .{ .level = IPV6, .name = sys.IPV6.MULTICAST_LOOP }
        else
            .{ .level = IP, .name = sys.IP.MULTICAST_LOOP, .byte = !linux },
        .dont_fragment => if (linux)
            (if (v6) .{ .level = IPV6, .name = sys.IPV6.MTU_DISCOVER } else .{ .level = IP, .name = sys.IP.MTU_DISCOVER })
        else if (v6) .{ .level = IPV6, .name = sys.IPV6.DONTFRAG } else .{ .level = IP, .name = sys.IP.DONTFRAG },
        .path_mtu => if (!linux)
            error.OptionUnsupported // the BSDs report it only in control messages
        else if (v6) .{ .level = IPV6, .name = std.os.linux.IPV6.MTU } else .{ .level = IP, .name = std.os.linux.IP.MTU },
    };
}

/// The largest value each option takes (the smallest is 0, or 1 for `ttl`).
fn maximum(option: abi.IpOption) i32 {
    return switch (option) {
        .broadcast, .multicast_loop, .dont_fragment => 1,
        .ttl, .tos, .multicast_ttl => 255,
        .path_mtu => 0, // read only
    };
}

/// Sets an `abi.IpOption` (by number, as the caller passes it) on a socket of `family`.
/// A value out of the option's range, or `path_mtu` (read only), is `error.InvalidArgument`.
pub fn setOption(fd: sys.fd_t, family: u32, option: u32, value: i32) sys.SetOptionError!void {
    const known = std.enums.fromInt(abi.IpOption, option) orelse return error.OptionUnsupported;
    const where = try spec(family, known);
    const least: i32 = if (known == .ttl) 1 else 0;
    if (known == .path_mtu or value < least or value > maximum(known)) return error.InvalidArgument;
    // Linux's don't-fragment is a mode of path MTU discovery: "do" sets DF and refuses a larger
    // datagram with EMSGSIZE; "want" (the default) fragments one locally.
    const int: c_int = if (known == .dont_fragment and linux)
        (if (value == 1) std.os.linux.IP.PMTUDISC_DO else std.os.linux.IP.PMTUDISC_WANT)
    else
        value;
    if (where.byte) {
        const byte: u8 = @intCast(int);
        return sys.setsockopt(fd, where.level, where.name, std.mem.asBytes(&byte));
    }
    return sys.setsockopt(fd, where.level, where.name, std.mem.asBytes(&int));
}

/// The current value of an `abi.IpOption` on a socket of `family`, as `setOption` takes it.
pub fn getOption(fd: sys.fd_t, family: u32, option: u32) (sys.GetOptionError || error{AddressFamilyUnsupported})!i32 {
    const known = std.enums.fromInt(abi.IpOption, option) orelse return error.OptionUnsupported;
    const where = try spec(family, known);
    var int: c_int = 0;
    const len = try sys.getsockopt(fd, where.level, where.name, std.mem.asBytes(&int));
    // The BSDs answer a `u_char` option in one byte; everything else is an int.
    const value: i32 = switch (len) {
        1 => std.mem.asBytes(&int)[0],
        @sizeOf(c_int) => int,
        else => sys.bug(@src(), error.Unexpected),
    };
    if (known == .dont_fragment and linux) return @intFromBool(value == std.os.linux.IP.PMTUDISC_DO);
    return value;
}

/// Writes `address` as a `sockaddr_storage`.
fn storage(address: *const abi.Address, out: *Storage) error{AddressFamilyUnsupported}!void {
    var name: udp.SockAddr = undefined;
    const len = try udp.toSockAddr(address, &name);
    out.* = std.mem.zeroes(Storage);
    @memcpy(out[0..len], std.mem.asBytes(&name)[0..len]);
}

/// Joins (`join` true) or leaves a multicast group, any-source or source-specific (see
/// `abi.Membership`). The kernel's refusals: `AddressInUse` for a group already joined,
/// `AddressNotAvailable` for leaving one not joined, `NoSuchDevice` for an unknown interface,
/// `InvalidArgument` for a group that is not a multicast address.
pub fn membership(fd: sys.fd_t, join: bool, request: *const abi.Membership) sys.SetOptionError!void {
    const v6 = try ipv6(request.group.family);
    const level: i32 = if (v6) sys.IPPROTO.IPV6 else sys.IPPROTO.IP;
    if (request.source.family == 0) {
        var group: GroupRequest = .{ .interface = request.interface, .group = undefined };
        try storage(&request.group, &group.group);
        const name: u32 = if (join) mcast.join else mcast.leave;
        return sys.setsockopt(fd, level, name, std.mem.asBytes(&group));
    }
    if (request.source.family != request.group.family) return error.InvalidArgument;
    var group: SourceGroupRequest = .{ .interface = request.interface, .group = undefined, .source = undefined };
    try storage(&request.group, &group.group);
    try storage(&request.source, &group.source);
    const name: u32 = if (join) mcast.join_source else mcast.leave_source;
    return sys.setsockopt(fd, level, name, std.mem.asBytes(&group));
}

/// Sends the socket's multicast datagrams out of interface `index` (0: the kernel chooses by
/// route, the default).
pub fn setMulticastInterface(fd: sys.fd_t, family: u32, index: u32) sys.SetOptionError!void {
    if (try ipv6(family)) {
        const int: c_int = @bitCast(index);
        return sys.setsockopt(fd, sys.IPPROTO.IPV6, sys.IPV6.MULTICAST_IF, std.mem.asBytes(&int));
    }
    if (darwin) return sys.setsockopt(fd, sys.IPPROTO.IP, std.c.IP.MULTICAST_IFINDEX, std.mem.asBytes(&index));
    const request: RequestN = .{ .ifindex = @bitCast(index) };
    return sys.setsockopt(fd, sys.IPPROTO.IP, sys.IP.MULTICAST_IF, std.mem.asBytes(&request));
}

/// The index of the interface named `name` (at most `IFNAMSIZ - 1` bytes, no NUL inside).
pub fn interfaceIndex(name: []const u8) sys.InterfaceError!u32 {
    var buffer: [16:0]u8 = std.mem.zeroes([16:0]u8);
    if (name.len == 0 or name.len >= buffer.len or std.mem.indexOfScalar(u8, name, 0) != null) return error.NoSuchDevice;
    @memcpy(buffer[0..name.len], name);
    return sys.interfaceIndex(&buffer);
}
