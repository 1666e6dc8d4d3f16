//! macOS and FreeBSD system calls through libc, each errno mapped in one `switch` (see `sys`).
//!
//! macOS has no SOCK_NONBLOCK, SOCK_CLOEXEC, pipe2, recvmmsg or sendmmsg: descriptors get their
//! flags from fcntl right after creation, and batches are loops of single-datagram calls.

const std = @import("std");
const c = std.c;
const sys = @import("../sys.zig");

const unexpected = sys.unexpected;

pub const sockaddr = c.sockaddr;
pub const msghdr = c.msghdr;
pub const msghdr_const = c.msghdr_const;

/// The Linux layout, so that the batch code is the same on every OS.
pub const mmsghdr = extern struct {
    hdr: c.msghdr,
    len: u32,
};

/// Makes a fresh descriptor non-blocking and close-on-exec.
fn configure(fd: sys.fd_t) error{Unexpected}!void {
    const nonblock: u32 = @bitCast(c.O{ .NONBLOCK = true });
    const flags = c.fcntl(fd, c.F.GETFL);
    if (flags == -1) return unexpected(c.errno(flags));
    const set = c.fcntl(fd, c.F.SETFL, flags | @as(c_int, @intCast(nonblock)));
    if (set == -1) return unexpected(c.errno(set));
    const cloexec = c.fcntl(fd, c.F.SETFD, @as(c_int, c.FD_CLOEXEC));
    if (cloexec == -1) return unexpected(c.errno(cloexec));
}

pub fn socket(domain: u32, socket_type: u32) sys.SocketError!sys.fd_t {
    const fd = c.socket(domain, socket_type, 0);
    switch (c.errno(fd)) {
        .SUCCESS => {},
        .AFNOSUPPORT => return error.AddressFamilyUnsupported,
        .ACCES => return error.AccessDenied,
        .MFILE => return error.ProcessFdQuotaExceeded,
        .NFILE => return error.SystemFdQuotaExceeded,
        .NOBUFS => return error.NoBufferSpace,
        .NOMEM => return error.SystemResources,
        .INVAL, .PROTONOSUPPORT, .PROTOTYPE => |e| sys.bug(@src(), e), // `udp.open` chooses them
        else => |e| return unexpected(e),
    }
    errdefer close(fd) catch {};
    try configure(fd);
    return fd;
}

/// macOS and FreeBSD release the descriptor even when close reports EINTR: never retry it.
pub fn close(fd: sys.fd_t) sys.CloseError!void {
    return switch (c.errno(c.close(fd))) {
        .SUCCESS, .INTR => {},
        .BADF => error.BadDescriptor,
        else => |e| unexpected(e),
    };
}

pub fn bind(fd: sys.fd_t, address: *const sockaddr, len: u32) sys.BindError!void {
    return switch (c.errno(c.bind(fd, address, len))) {
        .SUCCESS => {},
        .BADF => error.BadDescriptor,
        .NOTSOCK => error.NotSocket,
        .INVAL => error.InvalidArgument, // already bound
        .AFNOSUPPORT => error.AddressFamilyUnsupported,
        .ADDRINUSE => error.AddressInUse,
        .ADDRNOTAVAIL => error.AddressNotAvailable,
        .ACCES => error.AccessDenied,
        .NOMEM => error.SystemResources,
        .FAULT => |e| sys.bug(@src(), e), // `address` is the library's own memory
        else => |e| unexpected(e),
    };
}

pub fn getsockname(fd: sys.fd_t, address: *sockaddr, len: *u32) sys.SockNameError!void {
    return switch (c.errno(c.getsockname(fd, address, len))) {
        .SUCCESS => {},
        .BADF => error.BadDescriptor,
        .NOTSOCK => error.NotSocket,
        .NOBUFS => error.NoBufferSpace,
        .FAULT, .INVAL => |e| sys.bug(@src(), e), // the library's own memory and length
        else => |e| unexpected(e),
    };
}

/// Connects a UDP socket to one peer, or dissolves the association for an `AF_UNSPEC` address.
/// macOS and FreeBSD report the dissolution itself as EAFNOSUPPORT after doing it: not an error.
pub fn connect(fd: sys.fd_t, address: *const sockaddr, len: u32) sys.ConnectError!void {
    while (true) {
        return switch (c.errno(c.connect(fd, address, len))) {
            .SUCCESS => {},
            .INTR => continue,
            .BADF => error.BadDescriptor,
            .NOTSOCK => error.NotSocket,
            .INVAL => error.InvalidArgument,
            .AFNOSUPPORT => if (address.family == c.AF.UNSPEC) {} else error.AddressFamilyUnsupported,
            .ADDRNOTAVAIL => error.AddressNotAvailable,
            .ACCES, .PERM => error.AccessDenied,
            .NETUNREACH => error.NetworkUnreachable,
            .HOSTUNREACH => error.HostUnreachable,
            .NOMEM, .NOBUFS => error.SystemResources,
            .FAULT => |e| sys.bug(@src(), e), // `address` is the library's own memory
            else => |e| unexpected(e),
        };
    }
}

pub fn getpeername(fd: sys.fd_t, address: *sockaddr, len: *u32) sys.PeerNameError!void {
    return switch (c.errno(c.getpeername(fd, address, len))) {
        .SUCCESS => {},
        .BADF => error.BadDescriptor,
        .NOTSOCK => error.NotSocket,
        .NOTCONN => error.NotConnected,
        .NOBUFS => error.NoBufferSpace,
        .FAULT, .INVAL => |e| sys.bug(@src(), e), // the library's own memory and length
        else => |e| unexpected(e),
    };
}

/// The index of the network interface named `name`: if_nametoindex(3), 0 when there is none.
pub fn interfaceIndex(name: [*:0]const u8) sys.InterfaceError!u32 {
    const index = c.if_nametoindex(name);
    if (index <= 0) return error.NoSuchDevice;
    return @intCast(index);
}

pub fn setsockopt(fd: sys.fd_t, level: i32, name: u32, value: []const u8) sys.SetOptionError!void {
    return switch (c.errno(c.setsockopt(fd, level, name, value.ptr, @intCast(value.len)))) {
        .SUCCESS => {},
        .BADF => error.BadDescriptor,
        .NOTSOCK => error.NotSocket,
        .INVAL => error.InvalidArgument,
        .NOPROTOOPT => error.OptionUnsupported,
        .PERM => error.PermissionDenied,
        .ADDRINUSE => error.AddressInUse, // a multicast group joined twice
        .ADDRNOTAVAIL => error.AddressNotAvailable, // a group left that was not joined
        .NODEV, .NXIO => error.NoSuchDevice, // a membership's interface does not exist
        .AFNOSUPPORT => error.AddressFamilyUnsupported,
        .NOBUFS => error.NoBufferSpace,
        .NOMEM => error.SystemResources,
        .FAULT => |e| sys.bug(@src(), e), // `value` is the library's own memory
        else => |e| unexpected(e),
    };
}

/// Reads an option into `value`; returns how many bytes the kernel wrote.
pub fn getsockopt(fd: sys.fd_t, level: i32, name: u32, value: []u8) sys.GetOptionError!usize {
    var len: c.socklen_t = @intCast(value.len);
    return switch (c.errno(c.getsockopt(fd, level, name, value.ptr, &len))) {
        .SUCCESS => {
            sys.checkKernel(len <= value.len, @src(), "getsockopt");
            return len;
        },
        .BADF => error.BadDescriptor,
        .NOTSOCK => error.NotSocket,
        .NOPROTOOPT => error.OptionUnsupported,
        .FAULT, .INVAL => |e| sys.bug(@src(), e), // the library's own memory and length
        else => |e| unexpected(e),
    };
}

pub fn recvmsg(fd: sys.fd_t, message: *msghdr, flags: u32) sys.RecvError!usize {
    while (true) {
        const rc = c.recvmsg(fd, message, @intCast(flags));
        return switch (c.errno(rc)) {
            .SUCCESS => @intCast(rc),
            .INTR => continue,
            else => |e| sys.recvErrno(e),
        };
    }
}

pub fn sendmsg(fd: sys.fd_t, message: *const msghdr_const, flags: u32) sys.SendError!usize {
    while (true) {
        const rc = c.sendmsg(fd, message, @intCast(flags));
        return switch (c.errno(rc)) {
            .SUCCESS => @intCast(rc),
            .INTR => continue,
            else => |e| sys.sendErrno(e),
        };
    }
}

/// recvmmsg(2) as a loop: stops at the first error, which is returned only if no datagram came
/// before it. A condition that persists (EAGAIN) is met again by the next call; a pending
/// socket error (ECONNREFUSED) is cleared once reported, so that one is not.
pub fn recvmmsg(fd: sys.fd_t, headers: []mmsghdr, flags: u32) sys.RecvError!usize {
    for (headers, 0..) |*header, index| {
        const len = recvmsg(fd, &header.hdr, flags) catch |err| {
            if (index == 0) return err;
            return index;
        };
        header.len = @intCast(len);
    }
    return headers.len;
}

/// sendmmsg(2) as a loop, with the same rule for errors as `recvmmsg`.
pub fn sendmmsg(fd: sys.fd_t, headers: []mmsghdr, flags: u32) sys.SendError!usize {
    for (headers, 0..) |*header, index| {
        const len = sendmsg(fd, @ptrCast(&header.hdr), flags) catch |err| {
            if (index == 0) return err;
            return index;
        };
        header.len = @intCast(len);
    }
    return headers.len;
}

pub fn read(fd: sys.fd_t, buffer: []u8) sys.ReadError!usize {
    while (true) {
        const rc = c.read(fd, buffer.ptr, buffer.len);
        return switch (c.errno(rc)) {
            .SUCCESS => @intCast(rc),
            .INTR => continue,
            .AGAIN => error.WouldBlock,
            .BADF => error.BadDescriptor,
            .FAULT => |e| sys.bug(@src(), e), // checked by `root.zig`
            else => |e| unexpected(e),
        };
    }
}

pub fn write(fd: sys.fd_t, bytes: []const u8) sys.WriteError!usize {
    while (true) {
        const rc = c.write(fd, bytes.ptr, bytes.len);
        return switch (c.errno(rc)) {
            .SUCCESS => @intCast(rc),
            .INTR => continue,
            .AGAIN => error.WouldBlock,
            .BADF => error.BadDescriptor,
            .PIPE => error.BrokenPipe,
            .FAULT => |e| sys.bug(@src(), e), // the library's own memory
            else => |e| unexpected(e),
        };
    }
}

/// A non-blocking, close-on-exec pipe: `[0]` reads, `[1]` writes.
pub fn pipe() sys.PipeError![2]sys.fd_t {
    var fds: [2]sys.fd_t = undefined;
    switch (c.errno(c.pipe(&fds))) {
        .SUCCESS => {},
        .MFILE => return error.ProcessFdQuotaExceeded,
        .NFILE => return error.SystemFdQuotaExceeded,
        .FAULT => |e| sys.bug(@src(), e), // the library's own memory
        else => |e| return unexpected(e),
    }
    errdefer for (fds) |fd| close(fd) catch {};
    for (fds) |fd| try configure(fd);
    return fds;
}

/// Makes a descriptor opened by another program (a service manager's socket) non-blocking and
/// close-on-exec, as this library's own are.
pub fn adopt(fd: sys.fd_t) sys.AdoptError!void {
    const flags = c.fcntl(fd, c.F.GETFL);
    if (flags == -1) return switch (c.errno(flags)) {
        .BADF => error.BadDescriptor,
        else => |e| unexpected(e),
    };
    return configure(fd);
}

pub fn monotonicMs() i64 {
    var now: c.timespec = undefined;
    const rc = c.clock_gettime(.MONOTONIC, &now);
    sys.checkKernel(rc == 0, @src(), "clock_gettime");
    return @as(i64, now.sec) * 1000 + @divTrunc(@as(i64, now.nsec), 1_000_000);
}

/// The CPU time the calling thread has used, in nanoseconds (CLOCK_THREAD_CPUTIME_ID).
pub fn threadCpuNs() u64 {
    var now: c.timespec = undefined;
    const rc = c.clock_gettime(.THREAD_CPUTIME_ID, &now);
    sys.checkKernel(rc == 0, @src(), "clock_gettime");
    return @as(u64, @intCast(now.sec)) * std.time.ns_per_s + @as(u64, @intCast(now.nsec));
}

/// macOS and FreeBSD have no idle policy for one thread that `sched_setscheduler` sets
/// (FreeBSD's is `rtprio_thread`, macOS's thread QoS classes): not done there.
pub fn threadSetIdle(tid: i32) sys.ThreadIdleError!void {
    _ = tid;
    return error.OperationUnsupported;
}

/// Thread ids and CPU affinity are Linux's here: macOS has no affinity for a thread (only
/// hints), FreeBSD's is `cpuset_setaffinity`, not wired up.
pub fn threadId() sys.ThreadIdleError!i32 {
    return error.OperationUnsupported;
}

pub fn threadCpus(tid: i32, mask: *sys.CpuMask) sys.ThreadCpusError!void {
    _ = .{ tid, mask };
    return error.OperationUnsupported;
}

pub fn threadSetCpus(tid: i32, mask: *const sys.CpuMask) sys.ThreadCpusError!void {
    _ = .{ tid, mask };
    return error.OperationUnsupported;
}

pub fn errnoName(code: u16) ?[]const u8 {
    const e = std.enums.fromInt(c.E, code) orelse return null;
    return std.enums.tagName(c.E, e);
}
