//! Non-blocking UDP sockets, one datagram at a time or in batches of many per system call.
//!
//! Datagrams keep their boundaries: a datagram larger than its buffer is truncated by the
//! kernel, and that is reported in `Datagram.flags`, never hidden. Batches use recvmmsg and
//! sendmmsg on Linux and a loop of single calls elsewhere (see `sys`).

const std = @import("std");
const abi = @import("abi.zig");
const sys = @import("sys.zig");

/// Room for either kind of IP socket address.
const SockAddr = extern union {
    any: sys.sockaddr,
    in4: sys.sockaddr.in,
    in6: sys.sockaddr.in6,
};

/// Writes the OS form of `address` into `out` and returns its length, or `-EAFNOSUPPORT` for a
/// family other than 4 or 6.
fn toSockAddr(address: *const abi.Address, out: *SockAddr) isize {
    switch (address.family) {
        4 => {
            out.* = .{ .in4 = .{
                .port = std.mem.nativeToBig(u16, address.port),
                .addr = @bitCast(address.bytes[0..4].*),
            } };
            return @sizeOf(sys.sockaddr.in);
        },
        6 => {
            out.* = .{ .in6 = .{
                .port = std.mem.nativeToBig(u16, address.port),
                .flowinfo = 0,
                .addr = address.bytes,
                .scope_id = address.scope_id,
            } };
            return @sizeOf(sys.sockaddr.in6);
        },
        else => return sys.fail(.AFNOSUPPORT),
    }
}

/// The portable form of an address the kernel wrote. A family other than IPv4 or IPv6 (which a
/// UDP socket never reports) becomes family 0.
fn fromSockAddr(source: *const SockAddr) abi.Address {
    var address = std.mem.zeroes(abi.Address);
    switch (source.any.family) {
        sys.AF.INET => {
            address.family = 4;
            address.port = std.mem.bigToNative(u16, source.in4.port);
            address.bytes[0..4].* = @bitCast(source.in4.addr);
        },
        sys.AF.INET6 => {
            address.family = 6;
            address.port = std.mem.bigToNative(u16, source.in6.port);
            address.scope_id = source.in6.scope_id;
            address.bytes = source.in6.addr;
        },
        else => {},
    }
    return address;
}

/// A new non-blocking, close-on-exec UDP socket for IPv4 (`family` 4) or IPv6 (6).
pub fn open(family: u32) isize {
    const domain: u32 = switch (family) {
        4 => sys.AF.INET,
        6 => sys.AF.INET6,
        else => return sys.fail(.AFNOSUPPORT),
    };
    return sys.socket(domain, sys.SOCK.DGRAM, 0);
}

const OptionName = struct { level: i32, name: u32 };

fn optionName(option: u32) ?OptionName {
    const known = std.enums.fromInt(abi.Option, option) orelse return null;
    return switch (known) {
        .reuse_address => .{ .level = sys.SOL.SOCKET, .name = sys.SO.REUSEADDR },
        .reuse_port => .{ .level = sys.SOL.SOCKET, .name = sys.SO.REUSEPORT },
        .recv_buffer => .{ .level = sys.SOL.SOCKET, .name = sys.SO.RCVBUF },
        .send_buffer => .{ .level = sys.SOL.SOCKET, .name = sys.SO.SNDBUF },
        .ipv6_only => .{ .level = sys.IPPROTO.IPV6, .name = sys.IPV6.V6ONLY },
    };
}

pub fn setOption(fd: i32, option: u32, value: i32) isize {
    const named = optionName(option) orelse return sys.fail(.NOPROTOOPT);
    if (value < 0) return sys.fail(.INVAL);
    const int: c_int = value;
    return sys.setsockopt(fd, named.level, named.name, std.mem.asBytes(&int));
}

/// The option's current value. Linux reports buffer sizes doubled, as socket(7) explains: the
/// kernel counts its own bookkeeping in them.
pub fn getOption(fd: i32, option: u32) isize {
    const named = optionName(option) orelse return sys.fail(.NOPROTOOPT);
    var int: c_int = 0;
    var len: u32 = 0;
    const rc = sys.getsockopt(fd, named.level, named.name, std.mem.asBytes(&int), &len);
    if (rc < 0) return rc;
    return int;
}

pub fn bind(fd: i32, address: *const abi.Address) isize {
    var storage: SockAddr = undefined;
    const len = toSockAddr(address, &storage);
    if (len < 0) return len;
    return sys.bind(fd, &storage.any, @intCast(len));
}

pub fn localAddress(fd: i32, out: *abi.Address) isize {
    var storage: SockAddr = undefined;
    var len: u32 = @sizeOf(SockAddr);
    const rc = sys.getsockname(fd, &storage.any, &len);
    if (rc < 0) return rc;
    out.* = fromSockAddr(&storage);
    return 0;
}

/// Receives one datagram into `buffer`, its length, flags and sender into `datagram`, and
/// returns the number of bytes stored (`-EAGAIN` if none is waiting).
pub fn recvFrom(fd: i32, buffer: []u8, datagram: *abi.Datagram) isize {
    var storage: SockAddr = undefined;
    var iov = [1]sys.iovec{.{ .base = buffer.ptr, .len = buffer.len }};
    var message = std.mem.zeroes(sys.msghdr);
    message.name = &storage.any;
    message.namelen = @sizeOf(SockAddr);
    message.iov = &iov;
    message.iovlen = 1;
    const rc = sys.recvmsg(fd, &message, 0);
    if (rc < 0) return rc;
    datagram.* = .{
        .len = @intCast(rc),
        .flags = if (message.flags & sys.MSG.TRUNC != 0) abi.datagram_truncated else 0,
        .address = fromSockAddr(&storage),
    };
    return rc;
}

/// Sends `payload` as one datagram to `address`; returns the bytes sent.
pub fn sendTo(fd: i32, payload: []const u8, address: *const abi.Address) isize {
    var storage: SockAddr = undefined;
    const len = toSockAddr(address, &storage);
    if (len < 0) return len;
    var iov = [1]sys.iovec_const{.{ .base = payload.ptr, .len = payload.len }};
    var message = std.mem.zeroes(sys.msghdr_const);
    message.name = &storage.any;
    message.namelen = @intCast(len);
    message.iov = &iov;
    message.iovlen = 1;
    return sys.sendmsg(fd, &message, 0);
}

/// How many slots of `slot_size` bytes a batch call may use, or `-EINVAL` if not even one fits.
fn batchCount(buffer_len: usize, slot_size: u32, datagrams_len: usize) isize {
    if (slot_size == 0) return sys.fail(.INVAL);
    const count = @min(datagrams_len, abi.batch_max, buffer_len / slot_size);
    if (count == 0) return sys.fail(.INVAL);
    return @intCast(count);
}

/// Receives up to `datagrams.len` datagrams (at most `abi.batch_max`); datagram `i` goes to
/// bytes `[i * slot_size, (i + 1) * slot_size)` of `buffer`. Returns how many arrived, at least
/// one, or `-EAGAIN` if none was waiting.
pub fn recvBatch(fd: i32, buffer: []u8, slot_size: u32, datagrams: []abi.Datagram) isize {
    const counted = batchCount(buffer.len, slot_size, datagrams.len);
    if (counted < 0) return counted;
    const count: usize = @intCast(counted);
    var headers: [abi.batch_max]sys.mmsghdr = undefined;
    var iovecs: [abi.batch_max]sys.iovec = undefined;
    var names: [abi.batch_max]SockAddr = undefined;
    for (headers[0..count], iovecs[0..count], names[0..count], 0..) |*header, *iov, *name, index| {
        iov.* = .{ .base = buffer[index * slot_size ..].ptr, .len = slot_size };
        header.* = .{ .hdr = std.mem.zeroes(sys.msghdr), .len = 0 };
        header.hdr.name = &name.any;
        header.hdr.namelen = @sizeOf(SockAddr);
        header.hdr.iov = iov[0..1];
        header.hdr.iovlen = 1;
    }
    const rc = sys.recvmmsg(fd, headers[0..count], 0);
    if (rc < 0) return rc;
    const received: usize = @intCast(rc);
    for (headers[0..received], names[0..received], datagrams[0..received]) |header, *name, *datagram| {
        datagram.* = .{
            .len = header.len,
            .flags = if (header.hdr.flags & sys.MSG.TRUNC != 0) abi.datagram_truncated else 0,
            .address = fromSockAddr(name),
        };
    }
    return rc;
}

/// Sends up to `datagrams.len` datagrams (at most `abi.batch_max`) from their slots. Returns how
/// many were sent, which may be fewer than asked; an error is returned only when not even the
/// first could be sent, so that the caller learns which datagram it belongs to.
pub fn sendBatch(fd: i32, buffer: []const u8, slot_size: u32, datagrams: []const abi.Datagram) isize {
    const counted = batchCount(buffer.len, slot_size, datagrams.len);
    if (counted < 0) return counted;
    var count: usize = @intCast(counted);
    var headers: [abi.batch_max]sys.mmsghdr = undefined;
    var iovecs: [abi.batch_max]sys.iovec_const = undefined;
    var names: [abi.batch_max]SockAddr = undefined;
    for (datagrams[0..count], 0..) |*datagram, index| {
        // A datagram that cannot be sent ends the batch before it, to be reported on its own.
        const invalid = if (datagram.len > slot_size) sys.fail(.INVAL) else toSockAddr(&datagram.address, &names[index]);
        if (invalid < 0) {
            if (index == 0) return invalid;
            count = index;
            break;
        }
        iovecs[index] = .{ .base = buffer[index * slot_size ..].ptr, .len = datagram.len };
        headers[index] = .{ .hdr = std.mem.zeroes(sys.msghdr), .len = 0 };
        headers[index].hdr.name = &names[index].any;
        headers[index].hdr.namelen = @intCast(invalid);
        headers[index].hdr.iov = @ptrCast(iovecs[index..][0..1]);
        headers[index].hdr.iovlen = 1;
    }
    return sys.sendmmsg(fd, headers[0..count], 0);
}
