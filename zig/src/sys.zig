//! The system-call layer: one backend per OS family, chosen here and nowhere else.
//!
//! Every wrapper returns a Zig error union. Each one maps its call's errno in one exhaustive
//! `switch`: an errno the caller can cause or meet becomes a named error of the call's error
//! set below; an errno that only a bug in this library could cause (a bad pointer it built
//! itself, flags it chose) is a panic that names it (`bug`, never `unreachable`, which would be
//! undefined behaviour in ReleaseFast); any other becomes `error.Unexpected`. `EINTR` is
//! retried inside, so no caller ever sees it. Only `root.zig`, the C ABI, turns errors back
//! into `-errno`, and each error stands for exactly one errno so that nothing is lost on the
//! way (`error.Unexpected` alone is reported as `EIO`).
//!
//! Each backend must export the declarations of `Contract`, with exactly these types; the
//! `comptime` block below checks every signature, so a backend that drifts fails to compile on
//! its own OS, and the macOS cross-builds keep the libc backend honest on Linux machines.

const std = @import("std");
const builtin = @import("builtin");
const fault = @import("fault.zig");
const offload = @import("offload.zig");

const backend = switch (builtin.os.tag) {
    .linux => @import("sys/linux.zig"),
    .macos, .freebsd => @import("sys/libc.zig"),
    else => @compileError("bun-reactor has no system-call layer for this OS"),
};

pub const fd_t = i32;
pub const iovec = std.posix.iovec;
pub const iovec_const = std.posix.iovec_const;
pub const AF = std.c.AF;
pub const SOCK = std.c.SOCK;
pub const SOL = std.c.SOL;
pub const SO = std.c.SO;
pub const MSG = std.c.MSG;
pub const IPPROTO = std.c.IPPROTO;
pub const IP = std.c.IP;
pub const IPV6 = std.c.IPV6;
pub const E = std.c.E;

pub const sockaddr = backend.sockaddr;
pub const msghdr = backend.msghdr;
pub const msghdr_const = backend.msghdr_const;
pub const mmsghdr = backend.mmsghdr;

/// Every error the library returns. `root.zig` maps each to its one errno.
pub const Error = error{
    WouldBlock, // EAGAIN
    BadDescriptor, // EBADF
    NotSocket, // ENOTSOCK
    InvalidArgument, // EINVAL
    AddressFamilyUnsupported, // EAFNOSUPPORT
    AddressInUse, // EADDRINUSE
    AddressNotAvailable, // EADDRNOTAVAIL
    AccessDenied, // EACCES
    PermissionDenied, // EPERM
    OptionUnsupported, // ENOPROTOOPT
    ConnectionRefused, // ECONNREFUSED
    HostUnreachable, // EHOSTUNREACH
    HostDown, // EHOSTDOWN
    NetworkUnreachable, // ENETUNREACH
    NetworkDown, // ENETDOWN
    MessageTooLarge, // EMSGSIZE
    NoBufferSpace, // ENOBUFS
    SystemResources, // ENOMEM
    ProcessFdQuotaExceeded, // EMFILE
    SystemFdQuotaExceeded, // ENFILE
    BrokenPipe, // EPIPE
    AlreadyRegistered, // EEXIST
    NotRegistered, // ENOENT
    RegistrationLoop, // ELOOP
    TooManyRegistrations, // ENOSPC
    Busy, // EBUSY
    OperationUnsupported, // EOPNOTSUPP
    ProtocolError, // EPROTO
    TimedOut, // ETIMEDOUT
    NotConnected, // ENOTCONN
    NoSuchDevice, // ENODEV
    NoSuchThread, // ESRCH
    Unexpected, // any errno not foreseen; reported as EIO
};

/// The errors a socket reports from an earlier datagram (an ICMP message), on whichever call
/// comes next: ip(7) and udp(7). ENOPROTOOPT is ICMP's "protocol unreachable" there.
pub const AsyncError = error{ ConnectionRefused, HostUnreachable, HostDown, NetworkUnreachable, NetworkDown, MessageTooLarge, OptionUnsupported, OperationUnsupported, ProtocolError, TimedOut };

pub const SocketError = error{ AddressFamilyUnsupported, AccessDenied, ProcessFdQuotaExceeded, SystemFdQuotaExceeded, NoBufferSpace, SystemResources, Unexpected };
pub const CloseError = error{ BadDescriptor, Unexpected };
pub const BindError = error{ BadDescriptor, NotSocket, InvalidArgument, AddressFamilyUnsupported, AddressInUse, AddressNotAvailable, AccessDenied, SystemResources, Unexpected };
pub const SockNameError = error{ BadDescriptor, NotSocket, NoBufferSpace, Unexpected };
pub const SetOptionError = error{ BadDescriptor, NotSocket, InvalidArgument, OptionUnsupported, PermissionDenied, NoBufferSpace, SystemResources, Unexpected } ||
    MembershipError;
/// What the kernel says of a multicast membership (`ip.membership`): a group joined twice, a
/// group left that was not joined, an interface that does not exist, an address of the wrong family.
pub const MembershipError = error{ AddressInUse, AddressNotAvailable, NoSuchDevice, AddressFamilyUnsupported };
pub const GetOptionError = error{ BadDescriptor, NotSocket, OptionUnsupported, Unexpected };
pub const RecvError = error{ WouldBlock, BadDescriptor, NotSocket, NoBufferSpace, SystemResources, Unexpected } || AsyncError;
pub const SendError = error{ WouldBlock, BadDescriptor, NotSocket, InvalidArgument, AddressFamilyUnsupported, AddressNotAvailable, AccessDenied, PermissionDenied, NoBufferSpace, SystemResources, NotConnected, Unexpected } || AsyncError;
pub const ReadError = error{ WouldBlock, BadDescriptor, Unexpected };
pub const WriteError = error{ WouldBlock, BadDescriptor, BrokenPipe, Unexpected };
pub const PipeError = error{ ProcessFdQuotaExceeded, SystemFdQuotaExceeded, Unexpected };
pub const AdoptError = error{ BadDescriptor, Unexpected };
pub const ConnectError = error{ BadDescriptor, NotSocket, InvalidArgument, AddressFamilyUnsupported, AddressNotAvailable, AccessDenied, NetworkUnreachable, HostUnreachable, SystemResources, Unexpected };
pub const PeerNameError = error{ BadDescriptor, NotSocket, NotConnected, NoBufferSpace, Unexpected };
pub const InterfaceError = error{NoSuchDevice} || SocketError;
pub const ThreadIdleError = error{ NoSuchThread, PermissionDenied, OperationUnsupported, Unexpected };
pub const ThreadCpusError = error{ NoSuchThread, PermissionDenied, InvalidArgument, OperationUnsupported, Unexpected };
/// A set of CPUs, bit `n % 8` of byte `n / 8` for CPU `n`: Linux's `cpu_set_t` (1,024 CPUs).
pub const CpuMask = [128]u8;

/// The declarations every backend exports, with their exact types.
const Contract = struct {
    socket: fn (domain: u32, socket_type: u32) SocketError!fd_t,
    close: fn (fd: fd_t) CloseError!void,
    bind: fn (fd: fd_t, address: *const sockaddr, len: u32) BindError!void,
    getsockname: fn (fd: fd_t, address: *sockaddr, len: *u32) SockNameError!void,
    connect: fn (fd: fd_t, address: *const sockaddr, len: u32) ConnectError!void,
    getpeername: fn (fd: fd_t, address: *sockaddr, len: *u32) PeerNameError!void,
    interfaceIndex: fn (name: [*:0]const u8) InterfaceError!u32,
    setsockopt: fn (fd: fd_t, level: i32, name: u32, value: []const u8) SetOptionError!void,
    getsockopt: fn (fd: fd_t, level: i32, name: u32, value: []u8) GetOptionError!usize,
    recvmsg: fn (fd: fd_t, message: *msghdr, flags: u32) RecvError!usize,
    sendmsg: fn (fd: fd_t, message: *const msghdr_const, flags: u32) SendError!usize,
    recvmmsg: fn (fd: fd_t, headers: []mmsghdr, flags: u32) RecvError!usize,
    sendmmsg: fn (fd: fd_t, headers: []mmsghdr, flags: u32) SendError!usize,
    read: fn (fd: fd_t, buffer: []u8) ReadError!usize,
    write: fn (fd: fd_t, bytes: []const u8) WriteError!usize,
    pipe: fn () PipeError![2]fd_t,
    adopt: fn (fd: fd_t) AdoptError!void,
    monotonicMs: fn () i64,
    threadCpuNs: fn () u64,
    threadSetIdle: fn (tid: i32) ThreadIdleError!void,
    threadId: fn () ThreadIdleError!i32,
    threadCpus: fn (tid: i32, mask: *CpuMask) ThreadCpusError!void,
    threadSetCpus: fn (tid: i32, mask: *const CpuMask) ThreadCpusError!void,
    errnoName: fn (code: u16) ?[]const u8,
};

comptime {
    checkContract(backend, Contract, "sys");
}

/// Fails to compile unless `Backend` declares every field of `contract` with exactly its type.
pub fn checkContract(comptime Backend: type, comptime contract: type, comptime what: []const u8) void {
    const info = @typeInfo(contract).@"struct";
    for (info.field_names, info.field_types) |field_name, Expected| {
        if (!@hasDecl(Backend, field_name)) {
            @compileError(what ++ " backend is missing `" ++ field_name ++ "`");
        }
        const Actual = @TypeOf(@field(Backend, field_name));
        if (Actual != Expected) {
            @compileError(what ++ " backend's `" ++ field_name ++ "` is `" ++ @typeName(Actual) ++
                "`, but the contract says `" ++ @typeName(Expected) ++ "`");
        }
    }
}

pub const socket = backend.socket;
pub const close = backend.close;
pub const bind = backend.bind;
pub const getsockname = backend.getsockname;
pub const connect = backend.connect;
pub const getpeername = backend.getpeername;
pub const interfaceIndex = backend.interfaceIndex;
pub const setsockopt = backend.setsockopt;
pub const getsockopt = backend.getsockopt;
pub const recvmsg = if (fault.enabled) faulty.recvmsg else backend.recvmsg;
pub const sendmsg = if (fault.enabled) faulty.sendmsg else backend.sendmsg;
pub const recvmmsg = if (fault.enabled) faulty.recvmmsg else backend.recvmmsg;
pub const sendmmsg = if (fault.enabled) faulty.sendmmsg else backend.sendmmsg;
pub const read = backend.read;
pub const write = backend.write;
pub const pipe = backend.pipe;
pub const adopt = backend.adopt;
pub const monotonicMs = backend.monotonicMs;
pub const threadCpuNs = backend.threadCpuNs;
pub const threadSetIdle = backend.threadSetIdle;
pub const threadId = backend.threadId;
pub const threadCpus = backend.threadCpus;
pub const threadSetCpus = backend.threadSetCpus;
pub const errnoName = backend.errnoName;

/// The receive and send wrappers of a `-Dfault-injection` build: a drawn fault first (see
/// `fault.zig`), else the backend's call. Only referenced, and so only compiled, in such builds.
const faulty = struct {
    fn recvmsg(fd: fd_t, message: *msghdr, flags: u32) RecvError!usize {
        try fault.beforeRecv();
        return backend.recvmsg(fd, message, flags);
    }
    fn sendmsg(fd: fd_t, message: *const msghdr_const, flags: u32) SendError!usize {
        _ = try fault.beforeSend(1);
        return backend.sendmsg(fd, message, flags);
    }
    fn recvmmsg(fd: fd_t, headers: []mmsghdr, flags: u32) RecvError!usize {
        try fault.beforeRecv();
        return backend.recvmmsg(fd, headers, flags);
    }
    fn sendmmsg(fd: fd_t, headers: []mmsghdr, flags: u32) SendError!usize {
        // A device without segmentation offload fails the first segmented message with EIO;
        // the messages before it go out, as sendmmsg reports a failure after the first.
        var asked = headers.len;
        if (fault.segmentedRefused()) {
            for (headers, 0..) |header, index| {
                if (!offload.hasSegmentSize(header.hdr)) continue;
                if (index == 0) return error.Unexpected; // EIO at the C ABI
                asked = index;
                break;
            }
        }
        const count = try fault.beforeSend(asked);
        return backend.sendmmsg(fd, headers[0..count], flags);
    }
};

/// An errno (or the error a wrapper made of it) that only a bug in this library could cause (a
/// bad pointer it built itself, flags it chose): a panic naming the function and the errno, in
/// every build mode. `unreachable` there would be undefined behaviour in a ReleaseFast build (the
/// library ships in ReleaseSafe, but may be built either way) if a kernel, or a sandbox filtering
/// system calls, ever answered otherwise than its manual says.
pub fn bug(comptime at: std.builtin.SourceLocation, e: anytype) noreturn {
    const name = switch (@typeInfo(@TypeOf(e))) {
        .error_set => @errorName(e),
        else => @tagName(e),
    };
    std.debug.panic("bun-reactor: {s} ({s}:{d}) got {s}, which only a bug in the library can cause", .{
        at.fn_name, at.file, at.line, name,
    });
}

/// A check of what the kernel returned (a count within what was asked, a length within its
/// buffer): on in every build mode, where `std.debug.assert` would be undefined behaviour in
/// ReleaseFast and check nothing. A kernel (or a sandbox filtering system calls) that answers
/// otherwise than its manual says is a panic naming the call, never memory read out of bounds.
/// `std.debug.assert` stays for the library's own invariants, which its tests exercise.
pub inline fn checkKernel(ok: bool, comptime at: std.builtin.SourceLocation, comptime call: []const u8) void {
    if (!ok) kernelBroke(at, call);
}

fn kernelBroke(comptime at: std.builtin.SourceLocation, comptime call: []const u8) noreturn {
    @branchHint(.cold);
    std.debug.panic("bun-reactor: {s} returned what its manual rules out, in {s} ({s}:{d})", .{
        call, at.fn_name, at.file, at.line,
    });
}

/// An errno that the wrapper did not foresee. Debug builds say which, to be added to the switch.
/// Never called from the signal handler (`signals.zig`), where printing is not async-signal-safe.
pub fn unexpected(e: E) error{Unexpected} {
    if (builtin.mode == .debug) std.debug.print("bun-reactor: unexpected errno {s}\n", .{@tagName(e)});
    return error.Unexpected;
}

/// Whether `err` is one of `AsyncError`'s: it may be an earlier datagram's, not this call's.
pub fn isAsync(err: anyerror) bool {
    inline for (@typeInfo(AsyncError).error_set.error_names.?) |name| {
        if (err == @field(anyerror, name)) return true;
    }
    return false;
}

/// The error an errno of an earlier datagram stands for (see `AsyncError`), whichever call
/// returns it; null for any other errno.
fn asyncErrno(e: E) ?AsyncError {
    return switch (e) {
        .CONNREFUSED => error.ConnectionRefused,
        .HOSTUNREACH => error.HostUnreachable,
        .HOSTDOWN => error.HostDown,
        .NETUNREACH => error.NetworkUnreachable,
        .NETDOWN => error.NetworkDown,
        .MSGSIZE => error.MessageTooLarge,
        .NOPROTOOPT => error.OptionUnsupported,
        .OPNOTSUPP => error.OperationUnsupported,
        .PROTO => error.ProtocolError,
        .TIMEDOUT => error.TimedOut,
        else => null,
    };
}

/// The errno of recvmsg(2) and recvmmsg(2), which share their man page's list, on every OS.
pub fn recvErrno(e: E) RecvError {
    if (asyncErrno(e)) |err| return err;
    return switch (e) {
        .SUCCESS, .INTR => bug(@src(), e), // handled by the callers
        .AGAIN => error.WouldBlock,
        .BADF => error.BadDescriptor,
        .NOTSOCK => error.NotSocket,
        .NOBUFS => error.NoBufferSpace,
        .NOMEM => error.SystemResources,
        .FAULT, .INVAL => bug(@src(), e), // headers and buffers checked by `root.zig` and `udp`
        else => unexpected(e),
    };
}

/// The errno of sendmsg(2) and sendmmsg(2), which share their man page's list, on every OS.
pub fn sendErrno(e: E) SendError {
    if (asyncErrno(e)) |err| return err;
    return switch (e) {
        .SUCCESS, .INTR => bug(@src(), e), // handled by the callers
        .AGAIN => error.WouldBlock,
        .BADF => error.BadDescriptor,
        .NOTSOCK => error.NotSocket,
        .INVAL => error.InvalidArgument,
        .AFNOSUPPORT => error.AddressFamilyUnsupported, // an IPv6 peer on an IPv4 socket
        .ADDRNOTAVAIL => error.AddressNotAvailable,
        .ACCES => error.AccessDenied, // e.g. a broadcast address without SO_BROADCAST
        .PERM => error.PermissionDenied, // e.g. a firewall rule
        .NOBUFS => error.NoBufferSpace,
        .NOMEM => error.SystemResources,
        // A segmented send (UDP_SEGMENT) through a device that cannot checksum the segments:
        // Linux's udp_send_skb refuses it so (net/ipv4/udp.c). Foreseen, but it is already the
        // errno `error.Unexpected` stands for, and the caller sends such an entry's datagrams one
        // by one on it (`UdpSocket`), so it needs no name of its own.
        .IO => error.Unexpected,
        // A send without an address (a batch entry of family 0, `udp.send`) on a socket that
        // is not connected.
        .DESTADDRREQ, .NOTCONN => error.NotConnected,
        .FAULT => bug(@src(), e), // headers and buffers checked by `root.zig` and `udp`
        else => unexpected(e),
    };
}
