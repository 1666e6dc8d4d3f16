//! Per-datagram metadata carried in control messages (`abi.DatagramInfo`): the local address a
//! datagram was sent to and the interface it came in on, the source address and interface a
//! send goes from, and the IP traffic class byte (the IPv4 TOS byte or IPv6 traffic class, whose
//! low two bits are the ECN codepoint, RFC 3168).
//!
//! A socket reports none of it until `enable` asks, and a send carries none of it unless its
//! entry asks: the plain receive and send paths of `udp.zig` never come here. The options and
//! control messages differ by OS (ip(7), ipv6(7), RFC 3542; FreeBSD ip(4); macOS netinet/in.h):
//!
//! | what                  | Linux                      | macOS                         | FreeBSD                        |
//! |-----------------------|----------------------------|-------------------------------|--------------------------------|
//! | IPv4 destination in   | IP_PKTINFO → in_pktinfo    | IP_RECVPKTINFO → in_pktinfo   | IP_RECVDSTADDR + IP_RECVIF     |
//! | IPv4 source out       | IP_PKTINFO (ipi_spec_dst)  | IP_PKTINFO (ipi_spec_dst)     | IP_SENDSRCADDR (no interface)  |
//! | IPv6 both ways        | IPV6_RECVPKTINFO / IPV6_PKTINFO (in6_pktinfo)                                              |
//! | IPv4 TOS in           | IP_RECVTOS → IP_TOS (u8)   | IP_RECVTOS → IP_RECVTOS (u8)  | IP_RECVTOS → IP_RECVTOS (u8)   |
//! | IPv4 TOS out          | IP_TOS (int)               | IP_TOS (int)                  | IP_TOS (u8)                    |
//! | IPv6 traffic class    | IPV6_RECVTCLASS → IPV6_TCLASS (int); IPV6_TCLASS (int) out                                 |
//!
//! A dual-stack IPv6 socket sees IPv4 peers as v4-mapped addresses. Linux reports the
//! destination of their datagrams in IPV6_PKTINFO as a v4-mapped address and takes one back
//! the same way, but reports and sets their TOS byte only at the IPv4 level (`IP_TOS`), so a
//! traffic class goes by the destination's kind, and `enable` asks for both levels there.

const std = @import("std");
const builtin = @import("builtin");
const abi = @import("abi.zig");
const sys = @import("sys.zig");
const offload = @import("offload.zig");

const assert = std.debug.assert;
const os = builtin.os.tag;
const linux = std.os.linux;

/// The control message header and its alignment as the kernel lays them out: Linux's own (the
/// library makes its system calls directly there), the C library's elsewhere.
const cmsghdr = if (os == .linux) linux.cmsghdr else std.c.cmsghdr;
const cmsg_align: usize = if (os == .linux) linux.cmsg_align else std.c.cmsg_align;
const IP = if (os == .linux) linux.IP else std.c.IP;
const IPV6 = if (os == .linux) linux.IPV6 else std.c.IPV6;
const level_ip: i32 = sys.IPPROTO.IP;
const level_ipv6: i32 = sys.IPPROTO.IPV6;

/// `struct in_pktinfo` (Linux, macOS) and `struct in6_pktinfo` (RFC 3542), addresses as bytes.
const InPktinfo = extern struct { ifindex: u32, spec_dst: [4]u8, addr: [4]u8 };
const In6Pktinfo = extern struct { addr: [16]u8, ifindex: u32 };

comptime {
    assert(@sizeOf(InPktinfo) == 12 and @sizeOf(In6Pktinfo) == 20);
}

/// The TOS byte a send carries at the IPv4 level: FreeBSD reads a `u_char`, Linux and macOS an
/// `int` (Linux takes either).
const TosOut = if (os == .freebsd) u8 else c_int;

fn cmsgAlign(len: usize) usize {
    return std.mem.alignForward(usize, len, cmsg_align);
}

/// The largest payload of a control message here: IPv6 packet info (20 bytes), or on FreeBSD
/// the interface's `struct sockaddr_dl` (54).
const data_max = if (os == .freebsd) 54 else @sizeOf(In6Pktinfo);

/// Bytes of control buffer for one message with info: room for four messages (a UDP_GRO or
/// UDP_SEGMENT size, an address, a traffic class, and on a dual-stack Linux socket an IPv4
/// peer's IPv4 packet info besides its IPv6 one), the most a receive or a send carries.
pub const control_size = if (os == .linux) 160 else 256;
pub const Control = [control_size]u8;
pub const control_align = @alignOf(cmsghdr);

comptime {
    // The fourth, the IPv4 packet info of a dual-stack socket's IPv4 peer, is Linux's alone.
    const messages_max = if (os == .linux) 4 else 3;
    assert(messages_max * (cmsgAlign(@sizeOf(cmsghdr)) + cmsgAlign(data_max)) <= control_size);
}

/// Whether `bytes` (an IPv6 address) is a v4-mapped IPv4 address, `::ffff:a.b.c.d`.
pub fn isV4Mapped(bytes: *const [16]u8) bool {
    return std.mem.allEqual(u8, bytes[0..10], 0) and bytes[10] == 0xff and bytes[11] == 0xff;
}

/// Whether a datagram to `address` goes out as IPv4 (an IPv4 or v4-mapped address).
fn travelsAsIpv4(address: *const abi.Address) bool {
    return address.family == 4 or isV4Mapped(&address.bytes);
}

fn setFlag(fd: sys.fd_t, level: i32, name: u32, on: bool) sys.SetOptionError!void {
    const value: c_int = @intFromBool(on);
    return sys.setsockopt(fd, level, name, std.mem.asBytes(&value));
}

fn getFlag(fd: sys.fd_t, level: i32, name: u32) sys.GetOptionError!bool {
    var value: c_int = 0;
    const len = try sys.getsockopt(fd, level, name, std.mem.asBytes(&value));
    // Each option here is an int; Linux answers a u8 only to a shorter buffer.
    sys.checkKernel(len == @sizeOf(c_int), @src(), "getsockopt");
    return value != 0;
}

/// The option that makes an IPv4 socket report each datagram's destination.
const v4_local_option: u32 = switch (os) {
    .linux => IP.PKTINFO,
    .macos => IP.RECVPKTINFO,
    .freebsd => IP.RECVDSTADDR,
    else => @compileError("no destination-address option for this OS"),
};

/// Asks the kernel to report (`what` bit set) or not (clear) each datagram's destination and
/// interface (`abi.info_local`) and traffic class (`abi.info_traffic_class`) on a socket of
/// `family` (4 or 6). Bits outside `abi.info_reported` are `error.InvalidArgument`, before any call.
pub fn enable(fd: sys.fd_t, family: u32, what: u32) sys.SetOptionError!void {
    if (what & ~abi.info_reported != 0) return error.InvalidArgument;
    const local = what & abi.info_local != 0;
    const traffic_class = what & abi.info_traffic_class != 0;
    switch (family) {
        4 => {
            try setFlag(fd, level_ip, v4_local_option, local);
            if (os == .freebsd) try setFlag(fd, level_ip, IP.RECVIF, local);
            try setFlag(fd, level_ip, IP.RECVTOS, traffic_class);
        },
        6 => {
            try setFlag(fd, level_ipv6, IPV6.RECVPKTINFO, local);
            try setFlag(fd, level_ipv6, IPV6.RECVTCLASS, traffic_class);
            // IPv4 peers of a dual-stack socket have their TOS byte reported at the IPv4 level
            // only (Linux's udpv6_recvmsg); macOS refuses the option on IPv6 sockets.
            if (os == .linux) try setFlag(fd, level_ip, IP.RECVTOS, traffic_class);
            // And their IPv4 packet info, only to tell a broadcast destination (`info_not_local`):
            // IPV6_PKTINFO gives the header's destination alone.
            if (os == .linux) try setFlag(fd, level_ip, IP.PKTINFO, local);
        },
        // `udp.zig` passes the family the kernel reported for the socket.
        else => return error.OptionUnsupported,
    }
}

/// Which of `abi.info_local` and `abi.info_traffic_class` the socket reports, read back from
/// the kernel.
pub fn enabled(fd: sys.fd_t, family: u32) sys.GetOptionError!u32 {
    const local, const traffic_class = switch (family) {
        4 => .{ try getFlag(fd, level_ip, v4_local_option), try getFlag(fd, level_ip, IP.RECVTOS) },
        6 => .{ try getFlag(fd, level_ipv6, IPV6.RECVPKTINFO), try getFlag(fd, level_ipv6, IPV6.RECVTCLASS) },
        else => return error.OptionUnsupported,
    };
    return (if (local) abi.info_local else 0) | (if (traffic_class) abi.info_traffic_class else 0);
}

/// Control messages written one after another, as `CMSG_NXTHDR` walks them.
pub const Encoder = struct {
    buffer: *align(control_align) Control,
    len: usize = 0,
    /// Where the last message's data ends, before its padding.
    end: usize = 0,

    /// The control length a send passes: on Linux without the last message's padding, which
    /// lets an IPv6 packet info (36 bytes, not 40) fit the kernel's own buffer for control data
    /// instead of one it allocates for each send (`____sys_sendmsg`, net/socket.c); CMSG_OK
    /// accepts it. The BSDs get the padded length, as CMSG_SPACE gives it.
    pub fn controlLen(self: Encoder) usize {
        return if (os == .linux) self.end else self.len;
    }

    pub fn push(self: *Encoder, level: i32, kind: i32, data: []const u8) void {
        const header_space = cmsgAlign(@sizeOf(cmsghdr));
        const space = header_space + cmsgAlign(data.len);
        // `control_size` holds every message a send asks for (checked at comptime above).
        assert(self.len + space <= control_size);
        const header: *cmsghdr = @ptrCast(@alignCast(self.buffer[self.len..].ptr));
        header.* = .{ .len = @intCast(header_space + data.len), .level = level, .type = kind };
        @memcpy(self.buffer[self.len + header_space ..][0..data.len], data);
        @memset(self.buffer[self.len + header_space + data.len .. self.len + space], 0);
        self.end = self.len + header_space + data.len;
        self.len += space;
    }
};

/// Writes the UDP_SEGMENT message that cuts a send into datagrams of `segment_size` bytes.
pub fn pushSegmentSize(encoder: *Encoder, segment_size: u16) void {
    assert(offload.supported);
    encoder.push(offload.sol_udp, offload.udp_segment, std.mem.asBytes(&segment_size));
}

/// Checks that a send to `destination` can go as `info` asks, before any system call:
/// `error.InvalidArgument` for unknown flags, or a source of another kind than the destination
/// (IPv4, IPv6, v4-mapped IPv6), or an interface without `info_local` (the source, possibly
/// unspecified, and the interface travel together); `error.OptionUnsupported` for an interface
/// on an IPv4 send on FreeBSD, whose IP_SENDSRCADDR takes none.
pub fn checkSend(info: *const abi.DatagramInfo, destination: *const abi.Address) error{ InvalidArgument, OptionUnsupported }!void {
    if (info.flags & ~send_flags != 0) return error.InvalidArgument;
    // An interface goes in the same control message as the source: the unspecified one then.
    if (info.flags & abi.info_interface != 0 and info.flags & abi.info_local == 0) return error.InvalidArgument;
    if (!sendsFromLocal(info)) return;
    if (info.local.family != destination.family) return error.InvalidArgument;
    switch (info.local.family) {
        4 => if (os == .freebsd and info.flags & abi.info_interface != 0) return error.OptionUnsupported,
        6 => if (isV4Mapped(&info.local.bytes) != isV4Mapped(&destination.bytes)) return error.InvalidArgument,
        else => return error.InvalidArgument,
    }
}

const send_flags = abi.info_local | abi.info_traffic_class | abi.info_interface | abi.info_not_local;

/// Whether a send of `info` names its source: asked for, and not a destination that cannot be one.
fn sendsFromLocal(info: *const abi.DatagramInfo) bool {
    return info.flags & abi.info_local != 0 and info.flags & abi.info_not_local == 0;
}

/// Writes the control messages of a send to `destination` that `info` asks for (checked with
/// `checkSend`).
pub fn encodeSend(encoder: *Encoder, info: *const abi.DatagramInfo, destination: *const abi.Address) void {
    if (sendsFromLocal(info)) {
        const interface = if (info.flags & abi.info_interface != 0) info.interface else 0;
        if (info.local.family == 4) {
            if (os == .freebsd) {
                encoder.push(level_ip, IP.SENDSRCADDR, info.local.bytes[0..4]);
            } else {
                const pktinfo = InPktinfo{ .ifindex = interface, .spec_dst = info.local.bytes[0..4].*, .addr = .{ 0, 0, 0, 0 } };
                encoder.push(level_ip, IP.PKTINFO, std.mem.asBytes(&pktinfo));
            }
        } else {
            const pktinfo = In6Pktinfo{ .addr = info.local.bytes, .ifindex = interface };
            encoder.push(level_ipv6, IPV6.PKTINFO, std.mem.asBytes(&pktinfo));
        }
    }
    if (info.flags & abi.info_traffic_class != 0) {
        if (travelsAsIpv4(destination)) {
            const tos: TosOut = info.traffic_class;
            encoder.push(level_ip, IP.TOS, std.mem.asBytes(&tos));
        } else {
            const traffic_class: c_int = info.traffic_class;
            encoder.push(level_ipv6, IPV6.TCLASS, std.mem.asBytes(&traffic_class));
        }
    }
}

/// Writes to `info` the info of a received message whose control messages are `control`: what
/// the kernel reported, flagged in `flags`. Messages this module does not know (UDP_GRO) are
/// skipped. It writes in place, field by field: an info built on the stack and copied out whole
/// was read back as 16 bytes just after its fields' narrower stores, which the CPU cannot
/// forward (a stall on every datagram, the hottest instruction of a batch receive with info).
pub fn decode(control: []const u8, info: *abi.DatagramInfo) void {
    info.* = std.mem.zeroes(abi.DatagramInfo);
    const header_space = cmsgAlign(@sizeOf(cmsghdr));
    var offset: usize = 0;
    while (offset + @sizeOf(cmsghdr) <= control.len) {
        const header = std.mem.bytesToValue(cmsghdr, control[offset..][0..@sizeOf(cmsghdr)]);
        const len: usize = header.len;
        if (len < header_space or offset + len > control.len) break;
        decodeOne(header.level, header.type, control[offset + header_space .. offset + len], info);
        offset += cmsgAlign(len);
    }
}

fn decodeOne(level: i32, kind: i32, data: []const u8, info: *abi.DatagramInfo) void {
    if (level == level_ip) {
        const tos_in = if (os == .linux) IP.TOS else IP.RECVTOS;
        if (kind == tos_in) return decodeTrafficClass(data, info);
        if (os == .freebsd) {
            if (kind == IP.RECVDSTADDR and data.len >= 4) setLocal(info, 4, data[0..4], info.interface);
            // A `struct sockaddr_dl`, whose `sdl_index` (u16) follows its length and family bytes.
            if (kind == IP.RECVIF and data.len >= 4) info.interface = std.mem.readInt(u16, data[2..4], builtin.cpu.arch.endian());
        } else if (kind == IP.PKTINFO and data.len >= @sizeOf(InPktinfo)) {
            const pktinfo = std.mem.bytesToValue(InPktinfo, data[0..@sizeOf(InPktinfo)]);
            // On a dual-stack socket the IPv6 packet info (v4-mapped) is the destination; this
            // one only tells whether it is the host's own (below).
            if (info.flags & abi.info_local == 0 or info.local.family == 4) setLocal(info, 4, &pktinfo.addr, pktinfo.ifindex);
            // Linux's spec_dst is the address a reply goes from: the destination itself when it is
            // one of the host's, the interface's for a broadcast or multicast destination (ip(7);
            // fib_compute_spec_dst). macOS fills it otherwise, so it is read on Linux alone.
            if (os == .linux and !std.mem.eql(u8, &pktinfo.spec_dst, &pktinfo.addr)) info.flags |= abi.info_not_local;
        }
    } else if (level == level_ipv6) {
        if (kind == IPV6.TCLASS) return decodeTrafficClass(data, info);
        if (kind == IPV6.PKTINFO and data.len >= @sizeOf(In6Pktinfo)) {
            const pktinfo = std.mem.bytesToValue(In6Pktinfo, data[0..@sizeOf(In6Pktinfo)]);
            setLocal(info, 6, &pktinfo.addr, pktinfo.ifindex);
        }
    }
}

fn setLocal(info: *abi.DatagramInfo, family: u16, bytes: []const u8, interface: u32) void {
    info.local = std.mem.zeroes(abi.Address);
    info.local.family = family;
    @memcpy(info.local.bytes[0..bytes.len], bytes);
    // A link-local address means nothing without its interface (fe80::/10).
    if (family == 6 and bytes[0] == 0xfe and bytes[1] & 0xc0 == 0x80) info.local.scope_id = interface;
    info.interface = interface;
    info.flags |= abi.info_local;
}

/// The TOS byte (a `u8`) or traffic class (an `int`; some macOS versions send a `u8`).
fn decodeTrafficClass(data: []const u8, info: *abi.DatagramInfo) void {
    const value: u8 = switch (data.len) {
        0 => return,
        1, 2, 3 => data[0],
        else => @truncate(@as(u32, @bitCast(std.mem.readInt(c_int, data[0..4], builtin.cpu.arch.endian())))),
    };
    info.traffic_class = value;
    info.flags |= abi.info_traffic_class;
}
