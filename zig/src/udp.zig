//! Non-blocking UDP sockets, one datagram at a time or in batches of many per system call.
//!
//! Datagrams keep their boundaries: a datagram larger than its buffer is truncated by the
//! kernel, and that is reported in `Datagram.flags`, never hidden. Batches use recvmmsg and
//! sendmmsg on Linux and a loop of single calls elsewhere (see `sys`). A batch entry may hold
//! several datagrams of one peer with their `segment_size` (see `offload.zig`).

const std = @import("std");
const builtin = @import("builtin");
const abi = @import("abi.zig");
const sys = @import("sys.zig");
const offload = @import("offload.zig");
const datagram_info = @import("datagram_info.zig");

const assert = std.debug.assert;

/// Room for either kind of IP socket address.
pub const SockAddr = extern union {
    any: sys.sockaddr,
    in4: sys.sockaddr.in,
    in6: sys.sockaddr.in6,
};

/// Writes the OS form of `address` into `out` and returns its length. The family comes from
/// the caller, so an unknown one is an error, not an assertion.
pub fn toSockAddr(address: *const abi.Address, out: *SockAddr) error{AddressFamilyUnsupported}!u32 {
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
        else => return error.AddressFamilyUnsupported,
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

fn truncation(msg_flags: anytype) u16 {
    return if (msg_flags & sys.MSG.TRUNC != 0) @intCast(abi.datagram_truncated) else 0;
}

/// A new non-blocking, close-on-exec UDP socket for IPv4 (`family` 4) or IPv6 (6).
pub fn open(family: u32) sys.SocketError!sys.fd_t {
    const domain: u32 = switch (family) {
        4 => sys.AF.INET,
        6 => sys.AF.INET6,
        else => return error.AddressFamilyUnsupported,
    };
    return sys.socket(domain, sys.SOCK.DGRAM);
}

const OptionName = struct { level: i32, name: u32 };

fn optionName(option: u32) error{OptionUnsupported}!OptionName {
    const known = std.enums.fromInt(abi.Option, option) orelse return error.OptionUnsupported;
    return switch (known) {
        .reuse_address => .{ .level = sys.SOL.SOCKET, .name = sys.SO.REUSEADDR },
        .reuse_port => .{ .level = sys.SOL.SOCKET, .name = sys.SO.REUSEPORT },
        .recv_buffer => .{ .level = sys.SOL.SOCKET, .name = sys.SO.RCVBUF },
        .send_buffer => .{ .level = sys.SOL.SOCKET, .name = sys.SO.SNDBUF },
        .ipv6_only => .{ .level = sys.IPPROTO.IPV6, .name = sys.IPV6.V6ONLY },
    };
}

/// Sets an `abi.Option` (by number, as the caller passes it) to a non-negative `value`.
pub fn setOption(fd: sys.fd_t, option: u32, value: i32) sys.SetOptionError!void {
    const named = try optionName(option);
    if (value < 0) return error.InvalidArgument;
    const int: c_int = value;
    return sys.setsockopt(fd, named.level, named.name, std.mem.asBytes(&int));
}

/// The option's current value. Linux reports buffer sizes doubled, as socket(7) explains: the
/// kernel counts its own bookkeeping in them.
pub fn getOption(fd: sys.fd_t, option: u32) sys.GetOptionError!i32 {
    const named = try optionName(option);
    var int: c_int = 0;
    const len = try sys.getsockopt(fd, named.level, named.name, std.mem.asBytes(&int));
    // Every option named in `abi.Option` is an int; a shorter answer would leave bytes unset.
    sys.checkKernel(len == @sizeOf(c_int), @src(), "getsockopt");
    return int;
}

pub fn bind(fd: sys.fd_t, address: *const abi.Address) sys.BindError!void {
    var storage: SockAddr = undefined;
    const len = try toSockAddr(address, &storage);
    return sys.bind(fd, &storage.any, len);
}

pub fn localAddress(fd: sys.fd_t, out: *abi.Address) sys.SockNameError!void {
    var storage: SockAddr = undefined;
    var len: u32 = @sizeOf(SockAddr);
    try sys.getsockname(fd, &storage.any, &len);
    sys.checkKernel(len <= @sizeOf(SockAddr), @src(), "getsockname");
    out.* = fromSockAddr(&storage);
}

/// What kind of socket `fd` is: an `abi.socket_kind_*` value. A descriptor that is not a socket
/// is `error.NotSocket`. The address is read into storage of any family's size, since the
/// socket may be a Unix one, whose address is longer than an IP socket's.
pub fn socketKind(fd: sys.fd_t) (sys.SockNameError || sys.GetOptionError)!u32 {
    var storage: sys.sockaddr.storage = undefined;
    var len: u32 = @sizeOf(sys.sockaddr.storage);
    try sys.getsockname(fd, @ptrCast(&storage), &len);
    if (storage.family == sys.AF.UNIX) return abi.socket_kind_unix;
    if (storage.family != sys.AF.INET and storage.family != sys.AF.INET6) return abi.socket_kind_other;
    const socket_type = try intOption(fd, sys.SOL.SOCKET, sys.SO.TYPE);
    // SO_PROTOCOL tells UDP from other datagram protocols over IP (ping sockets: SOCK_DGRAM
    // with IPPROTO_ICMP); macOS has no such option, and there the type alone decides.
    const protocol: ?c_int = if (@hasDecl(sys.SO, "PROTOCOL")) try intOption(fd, sys.SOL.SOCKET, sys.SO.PROTOCOL) else null;
    if (socket_type == sys.SOCK.STREAM) {
        return if (protocol == null or protocol == sys.IPPROTO.TCP) abi.socket_kind_tcp else abi.socket_kind_other;
    }
    if (socket_type != sys.SOCK.DGRAM) return abi.socket_kind_other;
    return if (protocol == null or protocol == sys.IPPROTO.UDP) abi.socket_kind_udp else abi.socket_kind_other;
}

fn intOption(fd: sys.fd_t, level: i32, name: u32) sys.GetOptionError!c_int {
    var int: c_int = 0;
    const len = try sys.getsockopt(fd, level, name, std.mem.asBytes(&int));
    assert(len == @sizeOf(c_int));
    return int;
}

/// Receives one datagram into `buffer`, its length, flags and sender into `datagram`, and
/// returns the number of bytes stored (`error.WouldBlock` if none is waiting).
pub fn recvFrom(fd: sys.fd_t, buffer: []u8, datagram: *abi.Datagram) sys.RecvError!usize {
    return receiveOne(fd, buffer, datagram, null);
}

/// `recvFrom`, and what the datagram's control messages say of it into `info` (its destination,
/// interface and traffic class, as far as `setDatagramInfo` asked for them).
pub fn recvFromInfo(fd: sys.fd_t, buffer: []u8, datagram: *abi.Datagram, info: *abi.DatagramInfo) sys.RecvError!usize {
    return receiveOne(fd, buffer, datagram, info);
}

/// Whether `info` (a pointer or slice, or `null`) asks for datagram info: known at comptime,
/// so that the plain calls are compiled without any of it.
fn withInfo(comptime Info: type) bool {
    return Info != @TypeOf(null);
}

/// The control buffer of one message: a UDP_GRO or UDP_SEGMENT message alone (Linux), or with
/// datagram info (`datagram_info.control_size`).
fn ControlOf(comptime with_info: bool) type {
    return [if (with_info) datagram_info.control_size else if (offload.supported) offload.control_size else 0]u8;
}
const control_align = @max(offload.control_align, datagram_info.control_align);

fn receiveOne(fd: sys.fd_t, buffer: []u8, datagram: *abi.Datagram, info: anytype) sys.RecvError!usize {
    const with_info = comptime withInfo(@TypeOf(info));
    var storage: SockAddr = undefined;
    var iov = [1]sys.iovec{.{ .base = buffer.ptr, .len = buffer.len }};
    var message = std.mem.zeroes(sys.msghdr);
    message.name = &storage.any;
    message.namelen = @sizeOf(SockAddr);
    message.iov = &iov;
    message.iovlen = 1;
    // With offload on, even a single receive may return several datagrams coalesced.
    var control: ControlOf(with_info) align(control_align) = undefined;
    if (control.len > 0) {
        message.control = &control;
        message.controllen = control.len;
    }
    const len = try sys.recvmsg(fd, &message, 0);
    // Without MSG_TRUNC in the call's flags, the kernel never reports more than it stored.
    sys.checkKernel(len <= buffer.len, @src(), "recvmsg");
    const control_len = if (control.len > 0) message.controllen else 0;
    sys.checkKernel(control_len <= control.len, @src(), "recvmsg");
    datagram.* = .{
        .len = @intCast(len),
        .flags = truncation(message.flags),
        .segment_size = offload.receivedSegmentSize(control[0..control_len], len),
        .address = fromSockAddr(&storage),
    };
    if (with_info) datagram_info.decode(control[0..control_len], info);
    return len;
}

/// Sends `payload` as one datagram to `address`; returns the bytes sent.
///
/// A send that fails with an `AsyncError` may not have failed for its own datagram: an earlier
/// datagram's ICMP error (a departed client's port) waits on a socket with the error queue on
/// and is reported by whichever call comes next, which does not send, and clears it. So such a
/// send is tried once more (here and in `sendBatch`); an error that comes back is its own. The
/// earlier datagram's error stays in the error queue (`recvError`).
pub fn sendTo(fd: sys.fd_t, payload: []const u8, address: *const abi.Address) sys.SendError!usize {
    return sendOne(fd, payload, address, null);
}

/// `sendTo`, from the source address and interface and with the traffic class that `info`
/// asks for; `error.InvalidArgument` (or `error.OptionUnsupported`) before any system call
/// for what cannot be sent so (see `datagram_info.checkSend`).
pub fn sendToInfo(fd: sys.fd_t, payload: []const u8, address: *const abi.Address, info: *const abi.DatagramInfo) sys.SendError!usize {
    return sendOne(fd, payload, address, info);
}

fn sendOne(fd: sys.fd_t, payload: []const u8, address: *const abi.Address, info: anytype) sys.SendError!usize {
    const with_info = comptime withInfo(@TypeOf(info));
    var storage: SockAddr = undefined;
    const len = try toSockAddr(address, &storage);
    if (with_info) try datagram_info.checkSend(info, address);
    var iov = [1]sys.iovec_const{.{ .base = payload.ptr, .len = payload.len }};
    var message = std.mem.zeroes(sys.msghdr_const);
    message.name = &storage.any;
    message.namelen = len;
    message.iov = &iov;
    message.iovlen = 1;
    var control: [if (with_info) datagram_info.control_size else 0]u8 align(control_align) = undefined;
    if (with_info) {
        var encoder = datagram_info.Encoder{ .buffer = &control };
        datagram_info.encodeSend(&encoder, info, address);
        if (encoder.len > 0) {
            message.control = &control;
            message.controllen = @intCast(encoder.controlLen());
        }
    }
    return sys.sendmsg(fd, &message, 0) catch |err| if (sys.isAsync(err)) sys.sendmsg(fd, &message, 0) else err;
}

/// How many slots of `slot_size` bytes a batch call may use; `error.InvalidArgument` if not
/// even one fits.
fn batchCount(buffer_len: usize, slot_size: u32, datagrams_len: usize) error{InvalidArgument}!usize {
    if (slot_size == 0) return error.InvalidArgument;
    const count = @min(datagrams_len, abi.batch_max, buffer_len / slot_size);
    if (count == 0) return error.InvalidArgument;
    assert(count * slot_size <= buffer_len);
    return count;
}

/// Receives up to `datagrams.len` entries (at most `abi.batch_max`); entry `i` goes to bytes
/// `[i * slot_size, (i + 1) * slot_size)` of `buffer`. Returns how many arrived, at least one,
/// or `error.WouldBlock` if none was waiting. On a socket with offload on, an entry may be
/// several datagrams coalesced by the kernel, and its `segment_size` says so.
pub fn recvBatch(fd: sys.fd_t, buffer: []u8, slot_size: u32, datagrams: []abi.Datagram) (sys.RecvError || error{InvalidArgument})!usize {
    return receiveBatch(fd, buffer, slot_size, datagrams, null);
}

/// `recvBatch`, and each entry's datagram info into the entry of the same index of `infos`
/// (see `recvFromInfo`); at most `infos.len` entries are received.
pub fn recvBatchInfo(fd: sys.fd_t, buffer: []u8, slot_size: u32, datagrams: []abi.Datagram, infos: []abi.DatagramInfo) (sys.RecvError || error{InvalidArgument})!usize {
    return receiveBatch(fd, buffer, slot_size, datagrams[0..@min(datagrams.len, infos.len)], infos);
}

/// What a batch call hands the kernel besides the caller's buffers: a header, an iovec, a name
/// and a control buffer per entry, for up to `abi.batch_max` entries (some 33 KB, 67 KB with
/// datagram info). Only the first `count` entries are written and read.
fn BatchScratch(comptime Iovec: type, comptime with_info: bool) type {
    return struct {
        headers: [abi.batch_max]sys.mmsghdr,
        iovecs: [abi.batch_max]Iovec,
        names: [abi.batch_max]SockAddr,
        controls: [abi.batch_max]ControlOf(with_info) align(control_align),
    };
}

/// A `T` left as the stack had it. In a safe build (the library ships in ReleaseSafe) Zig
/// fills every `undefined` variable with 0xaa, which for a batch's scratch was a memset of 33
/// KB per recvmmsg and per sendmmsg (67 KB with datagram info), whatever the batch's size: the
/// largest part of the library's CPU per echo in a profile of udp-echo. The calls write each
/// entry they use before the kernel reads it, so the fill caught nothing there. Safety is off
/// in this function alone, whose only work is to return `undefined`.
fn uninitialized(comptime T: type) T {
    @setRuntimeSafety(false);
    return undefined;
}

fn receiveBatch(fd: sys.fd_t, buffer: []u8, slot_size: u32, datagrams: []abi.Datagram, infos: anytype) (sys.RecvError || error{InvalidArgument})!usize {
    const with_info = comptime withInfo(@TypeOf(infos));
    const count = try batchCount(buffer.len, slot_size, datagrams.len);
    if (with_info) assert(infos.len >= count);
    var scratch = uninitialized(BatchScratch(sys.iovec, with_info));
    const headers = &scratch.headers;
    const names = &scratch.names;
    const controls = &scratch.controls;
    for (headers[0..count], scratch.iovecs[0..count], names[0..count], 0..) |*header, *iov, *name, index| {
        iov.* = .{ .base = buffer[index * slot_size ..].ptr, .len = slot_size };
        header.* = .{ .hdr = std.mem.zeroes(sys.msghdr), .len = 0 };
        header.hdr.name = &name.any;
        header.hdr.namelen = @sizeOf(SockAddr);
        header.hdr.iov = iov[0..1];
        header.hdr.iovlen = 1;
        if (controls[index].len > 0) {
            header.hdr.control = &controls[index];
            header.hdr.controllen = controls[index].len;
        }
    }
    const received = try sys.recvmmsg(fd, headers[0..count], 0);
    sys.checkKernel(received > 0 and received <= count, @src(), "recvmmsg");
    for (headers[0..received], names[0..received], controls[0..received], datagrams[0..received], 0..) |header, *name, *control, *datagram, index| {
        sys.checkKernel(header.len <= slot_size, @src(), "recvmmsg");
        const control_len = if (control.len > 0) header.hdr.controllen else 0;
        sys.checkKernel(control_len <= control.len, @src(), "recvmmsg");
        datagram.* = .{
            .len = header.len,
            .flags = truncation(header.hdr.flags),
            .segment_size = offload.receivedSegmentSize(control[0..control_len], header.len),
            .address = fromSockAddr(name),
        };
        if (with_info) datagram_info.decode(control[0..control_len], &infos[index]);
    }
    return received;
}

/// Sends up to `datagrams.len` entries (at most `abi.batch_max`) from their slots, each entry
/// with a `segment_size` as one buffer the kernel cuts into datagrams (UDP_SEGMENT). Returns how
/// many entries were sent, which may be fewer than asked; an error is returned only when not
/// even the first could be sent, so that the caller learns which entry it belongs to.
pub fn sendBatch(fd: sys.fd_t, buffer: []const u8, slot_size: u32, datagrams: []const abi.Datagram) (sys.SendError || error{OptionUnsupported})!usize {
    return sendBatchOf(fd, buffer, slot_size, datagrams, null);
}

/// `sendBatch`, each entry sent as the entry of the same index of `infos` asks (see
/// `sendToInfo`); at most `infos.len` entries are sent. An entry whose info cannot be sent is
/// refused alone, as an entry that cannot be sent is.
pub fn sendBatchInfo(fd: sys.fd_t, buffer: []const u8, slot_size: u32, datagrams: []const abi.Datagram, infos: []const abi.DatagramInfo) (sys.SendError || error{OptionUnsupported})!usize {
    return sendBatchOf(fd, buffer, slot_size, datagrams[0..@min(datagrams.len, infos.len)], infos);
}

fn sendBatchOf(fd: sys.fd_t, buffer: []const u8, slot_size: u32, datagrams: []const abi.Datagram, infos: anytype) (sys.SendError || error{OptionUnsupported})!usize {
    const with_info = comptime withInfo(@TypeOf(infos));
    var count = try batchCount(buffer.len, slot_size, datagrams.len);
    var scratch = uninitialized(BatchScratch(sys.iovec_const, with_info));
    const headers = &scratch.headers;
    const iovecs = &scratch.iovecs;
    const names = &scratch.names;
    const controls = &scratch.controls;
    for (datagrams[0..count], 0..) |*datagram, index| {
        // An entry that cannot be sent ends the batch before it, to be reported on its own.
        // An entry of address family 0 goes to the connected peer, without a name (BSDs refuse
        // a name on a connected socket with EISCONN).
        const checked = checkEntry(datagram, if (with_info) &infos[index] else null, slot_size, &names[index]) catch |err| {
            if (index == 0) return err;
            count = index;
            break;
        };
        iovecs[index] = .{ .base = buffer[index * slot_size ..].ptr, .len = datagram.len };
        headers[index] = .{ .hdr = std.mem.zeroes(sys.msghdr), .len = 0 };
        headers[index].hdr.name = if (checked.name_len == 0) null else &names[index].any;
        headers[index].hdr.namelen = checked.name_len;
        headers[index].hdr.iov = @ptrCast(iovecs[index..][0..1]);
        headers[index].hdr.iovlen = 1;
        if (with_info) {
            var encoder = datagram_info.Encoder{ .buffer = &controls[index] };
            if (checked.segmented) datagram_info.pushSegmentSize(&encoder, datagram.segment_size);
            datagram_info.encodeSend(&encoder, &infos[index], &datagram.address);
            if (encoder.len > 0) {
                headers[index].hdr.control = &controls[index];
                headers[index].hdr.controllen = @intCast(encoder.controlLen());
            }
        } else if (offload.supported and checked.segmented) {
            headers[index].hdr.control = &controls[index];
            headers[index].hdr.controllen = offload.writeSegmentControl(&controls[index], datagram.segment_size);
        }
    }
    const sent = sys.sendmmsg(fd, headers[0..count], 0) catch |err|
        if (sys.isAsync(err)) try sys.sendmmsg(fd, headers[0..count], 0) else return err;
    sys.checkKernel(sent > 0 and sent <= count, @src(), "sendmmsg");
    return sent;
}

/// What a send needs to know of an entry it can send: the length of the peer's address
/// written to `name`, and whether the kernel must cut the entry into datagrams.
const Checked = struct { name_len: u32, segmented: bool };

/// How the entry goes out (with its `info`, if any), or why it cannot.
fn checkEntry(datagram: *const abi.Datagram, info: ?*const abi.DatagramInfo, slot_size: u32, name: *SockAddr) error{ InvalidArgument, AddressFamilyUnsupported, OptionUnsupported }!Checked {
    if (datagram.len > slot_size) return error.InvalidArgument;
    const segmented = try offload.segmentedSend(datagram.len, datagram.segment_size);
    const name_len = if (datagram.address.family == 0) 0 else try toSockAddr(&datagram.address, name);
    if (info) |asked| try datagram_info.checkSend(asked, &datagram.address);
    return .{ .name_len = name_len, .segmented = segmented };
}

/// Turns UDP GRO and GSO on for `fd` (see `offload.enable`), or says which the kernel refused.
pub fn enableOffload(fd: sys.fd_t) sys.SetOptionError!void {
    return offload.enable(fd);
}

/// How many datagrams the kernel has dropped for this socket since it was opened, mostly
/// because its receive buffer was full (the server fell behind): `sk_drops`, the counter that
/// `SO_RXQ_OVFL` attaches to each datagram, read here with `SO_MEMINFO` (Linux 4.7 and later)
/// so that the receive path stays free of control messages. The counter is the kernel's
/// `atomic_t` and wraps; the caller takes differences. `error.OptionUnsupported` on other
/// systems, which keep no such counter per socket.
pub fn kernelDrops(fd: sys.fd_t) sys.GetOptionError!u32 {
    if (builtin.os.tag != .linux) return error.OptionUnsupported;
    const meminfo_drops = 8; // SK_MEMINFO_DROPS, include/uapi/linux/sock_diag.h
    var meminfo = std.mem.zeroes([meminfo_drops + 1]u32);
    const len = try sys.getsockopt(fd, sys.SOL.SOCKET, std.os.linux.SO.MEMINFO, std.mem.asBytes(&meminfo));
    // A kernel older than 4.7 stops before the drops.
    if (len < @sizeOf(@TypeOf(meminfo))) return error.OptionUnsupported;
    return meminfo[meminfo_drops];
}

/// Asks the kernel to queue the ICMP errors that replies meet (port or host unreachable), to be
/// read with `recvError`: `IP_RECVERR` / `IPV6_RECVERR` (ip(7), ipv6(7)). Without it Linux
/// tells an unconnected UDP socket nothing, and a reply to a departed client looks delivered.
/// The socket then reports `EPOLLERR` while errors wait. `error.OptionUnsupported` elsewhere.
pub fn enableErrorQueue(fd: sys.fd_t, family: u32) sys.SetOptionError!void {
    if (builtin.os.tag != .linux) return error.OptionUnsupported;
    const linux = std.os.linux;
    const on: c_int = 1;
    return switch (family) {
        4 => sys.setsockopt(fd, linux.SOL.IP, linux.IP.RECVERR, std.mem.asBytes(&on)),
        6 => sys.setsockopt(fd, linux.SOL.IPV6, linux.IPV6.RECVERR, std.mem.asBytes(&on)),
        else => error.InvalidArgument,
    };
}

/// `struct sock_extended_err`, include/uapi/linux/errqueue.h.
const ExtendedError = extern struct { errno: u32, origin: u8, type: u8, code: u8, pad: u8, info: u32, data: u32 };

/// Takes the oldest error from the socket's error queue (see `enableErrorQueue`): returns its
/// errno (`ECONNREFUSED` for a closed port) and writes it to `out` with the destination of the
/// datagram that met it and, for `EMSGSIZE`, the path MTU the kernel reported (`ee_info`: the
/// local device's MTU for a don't-fragment send too large for it, or the MTU an ICMP
/// "fragmentation needed" or "packet too big" named). `error.WouldBlock` when the queue is empty.
pub fn recvError(fd: sys.fd_t, out: *abi.QueuedError) sys.RecvError!u32 {
    out.* = std.mem.zeroes(abi.QueuedError);
    const extended = try recvExtendedError(fd, &out.address);
    out.errno = extended.errno;
    if (extended.errno == @backingInt(sys.E.MSGSIZE)) out.mtu = extended.info;
    return extended.errno;
}

fn recvExtendedError(fd: sys.fd_t, peer: *abi.Address) sys.RecvError!ExtendedError {
    if (builtin.os.tag != .linux) return error.WouldBlock; // nothing is ever queued
    const linux = std.os.linux;
    var storage: SockAddr = undefined;
    // The start of the reply that met the error comes back as data: not needed here.
    var payload: [16]u8 = undefined;
    var iov = [1]sys.iovec{.{ .base = &payload, .len = payload.len }};
    var control: [256]u8 align(@alignOf(linux.cmsghdr)) = undefined;
    var message = std.mem.zeroes(sys.msghdr);
    message.name = &storage.any;
    message.namelen = @sizeOf(SockAddr);
    message.iov = &iov;
    message.iovlen = 1;
    message.control = &control;
    message.controllen = control.len;
    _ = try sys.recvmsg(fd, &message, linux.MSG.ERRQUEUE);
    // ip(7): "The original destination address of the datagram that caused the error is
    // supplied via msg_name."
    peer.* = fromSockAddr(&storage);
    sys.checkKernel(message.controllen <= control.len, @src(), "recvmsg");
    var offset: usize = 0;
    while (offset + @sizeOf(linux.cmsghdr) <= message.controllen) {
        const header = std.mem.bytesAsValue(linux.cmsghdr, control[offset..][0..@sizeOf(linux.cmsghdr)]);
        if (header.len < @sizeOf(linux.cmsghdr) or offset + header.len > message.controllen) break;
        const is_error = (header.level == linux.SOL.IP and header.type == linux.IP.RECVERR) or
            (header.level == linux.SOL.IPV6 and header.type == linux.IPV6.RECVERR);
        if (is_error and header.len >= @sizeOf(linux.cmsghdr) + @sizeOf(ExtendedError)) {
            const data = control[offset + @sizeOf(linux.cmsghdr) ..][0..@sizeOf(ExtendedError)];
            return std.mem.bytesToValue(ExtendedError, data);
        }
        offset += std.mem.alignForward(usize, header.len, linux.cmsg_align);
    }
    return std.mem.zeroes(ExtendedError); // an entry without its description: the kernel always sends one
}

/// Connects the socket to `peer`: sends without an address go there, and the kernel drops
/// datagrams from anyone else and reports the peer's ICMP errors (ECONNREFUSED) on the next
/// call. Nothing is sent.
pub fn connect(fd: sys.fd_t, peer: *const abi.Address) sys.ConnectError!void {
    var storage: SockAddr = undefined;
    const len = try toSockAddr(peer, &storage);
    return sys.connect(fd, &storage.any, len);
}

/// Dissolves the socket's connection (connect(2) with `AF_UNSPEC`) and keeps it at `bound`, the
/// address it was bound to. Linux unbinds the port of a socket that was bound to port 0 when it
/// dissolves its connection (`__udp_disconnect` keeps the port only with SOCK_BINDPORT_LOCK,
/// which a bind to port 0 does not set), so the socket is bound to `bound` again then. Harmless
/// on a socket that is not connected.
pub fn disconnect(fd: sys.fd_t, bound: *const abi.Address) (sys.ConnectError || sys.BindError || sys.SockNameError)!void {
    var storage = std.mem.zeroes(SockAddr);
    storage.any.family = sys.AF.UNSPEC;
    if (builtin.os.tag != .linux) storage.any.len = @sizeOf(sys.sockaddr);
    try sys.connect(fd, &storage.any, @sizeOf(sys.sockaddr));
    var now: abi.Address = undefined;
    try localAddress(fd, &now);
    if (now.port == 0) try bind(fd, bound);
}

/// The peer the socket is connected to; `error.NotConnected` if none.
pub fn peerAddress(fd: sys.fd_t, out: *abi.Address) sys.PeerNameError!void {
    var storage: SockAddr = undefined;
    var len: u32 = @sizeOf(SockAddr);
    try sys.getpeername(fd, &storage.any, &len);
    assert(len <= @sizeOf(SockAddr));
    out.* = fromSockAddr(&storage);
}

/// Sends `payload` as one datagram to the connected peer; returns the bytes sent. Unlike
/// `sendTo`, an earlier datagram's ICMP error is reported here as it is: on a connected socket
/// it concerns the same peer, which is what the caller wants to learn (`error.NotConnected`
/// is not possible: the kernel answers EDESTADDRREQ, reported as `error.Unexpected`, and the
/// caller checks first).
pub fn send(fd: sys.fd_t, payload: []const u8) sys.SendError!usize {
    var iov = [1]sys.iovec_const{.{ .base = payload.ptr, .len = payload.len }};
    var message = std.mem.zeroes(sys.msghdr_const);
    message.iov = &iov;
    message.iovlen = 1;
    return sys.sendmsg(fd, &message, 0);
}

/// Asks the kernel to report each datagram's destination and interface (`abi.info_local`) and
/// traffic class (`abi.info_traffic_class`) for the `*Info` receives, or not (`what` 0); see
/// `datagram_info.enable`.
pub fn setDatagramInfo(fd: sys.fd_t, what: u32) (sys.SetOptionError || sys.SockNameError)!void {
    if (what & ~abi.info_reported != 0) return error.InvalidArgument;
    var local: abi.Address = undefined;
    try localAddress(fd, &local);
    return datagram_info.enable(fd, local.family, what);
}

/// What `setDatagramInfo` asked for, read back from the kernel.
pub fn getDatagramInfo(fd: sys.fd_t) (sys.GetOptionError || sys.SockNameError)!u32 {
    var local: abi.Address = undefined;
    try localAddress(fd, &local);
    if (local.family != 4 and local.family != 6) return error.OptionUnsupported;
    return datagram_info.enabled(fd, local.family);
}
