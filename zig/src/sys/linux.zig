//! Linux system calls, made directly (no libc), each errno mapped in one `switch` (see `sys`).
//!
//! Descriptors are always created non-blocking and close-on-exec, atomically, so that no other
//! thread can fork between creation and `fcntl` and leak them into a child.

const std = @import("std");
const linux = std.os.linux;
const sys = @import("../sys.zig");

const unexpected = sys.unexpected;

pub const sockaddr = linux.sockaddr;
pub const msghdr = linux.msghdr;
pub const msghdr_const = linux.msghdr_const;
pub const mmsghdr = linux.mmsghdr;

pub fn socket(domain: u32, socket_type: u32) sys.SocketError!sys.fd_t {
    const rc = linux.socket(domain, socket_type | linux.SOCK.NONBLOCK | linux.SOCK.CLOEXEC, 0);
    return switch (linux.errno(rc)) {
        .SUCCESS => @intCast(rc),
        .AFNOSUPPORT => error.AddressFamilyUnsupported, // e.g. IPv6 disabled in the kernel
        .ACCES => error.AccessDenied,
        .MFILE => error.ProcessFdQuotaExceeded,
        .NFILE => error.SystemFdQuotaExceeded,
        .NOBUFS => error.NoBufferSpace,
        .NOMEM => error.SystemResources,
        .INVAL, .PROTONOSUPPORT => |e| sys.bug(@src(), e), // `udp.open` chooses domain, type and flags
        else => |e| unexpected(e),
    };
}

/// Linux releases the descriptor even when close reports EINTR, so a retry could close a
/// descriptor that another thread has just been given: https://lwn.net/Articles/576478/
pub fn close(fd: sys.fd_t) sys.CloseError!void {
    return switch (linux.errno(linux.close(fd))) {
        .SUCCESS, .INTR => {},
        .BADF => error.BadDescriptor,
        else => |e| unexpected(e),
    };
}

pub fn bind(fd: sys.fd_t, address: *const sockaddr, len: u32) sys.BindError!void {
    return switch (linux.errno(linux.bind(fd, address, len))) {
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
    return switch (linux.errno(linux.getsockname(fd, address, len))) {
        .SUCCESS => {},
        .BADF => error.BadDescriptor,
        .NOTSOCK => error.NotSocket,
        .NOBUFS => error.NoBufferSpace,
        .FAULT, .INVAL => |e| sys.bug(@src(), e), // the library's own memory and length
        else => |e| unexpected(e),
    };
}

/// Connects a UDP socket to one peer, or dissolves the association for an `AF_UNSPEC` address
/// (connect(2)): nothing is sent; the kernel only records the peer and picks the source.
pub fn connect(fd: sys.fd_t, address: *const sockaddr, len: u32) sys.ConnectError!void {
    while (true) {
        return switch (linux.errno(linux.connect(fd, address, len))) {
            .SUCCESS => {},
            .INTR => continue,
            .BADF => error.BadDescriptor,
            .NOTSOCK => error.NotSocket,
            .INVAL => error.InvalidArgument,
            .AFNOSUPPORT => error.AddressFamilyUnsupported, // an IPv6 peer on an IPv4 socket
            .ADDRNOTAVAIL => error.AddressNotAvailable,
            .ACCES, .PERM => error.AccessDenied, // a broadcast peer without SO_BROADCAST
            .NETUNREACH => error.NetworkUnreachable,
            .HOSTUNREACH => error.HostUnreachable,
            .NOMEM, .NOBUFS => error.SystemResources,
            .FAULT => |e| sys.bug(@src(), e), // `address` is the library's own memory
            else => |e| unexpected(e),
        };
    }
}

pub fn getpeername(fd: sys.fd_t, address: *sockaddr, len: *u32) sys.PeerNameError!void {
    return switch (linux.errno(linux.getpeername(fd, address, len))) {
        .SUCCESS => {},
        .BADF => error.BadDescriptor,
        .NOTSOCK => error.NotSocket,
        .NOTCONN => error.NotConnected,
        .NOBUFS => error.NoBufferSpace,
        .FAULT, .INVAL => |e| sys.bug(@src(), e), // the library's own memory and length
        else => |e| unexpected(e),
    };
}

/// The index of the network interface named `name` (if_nametoindex(3), which glibc implements
/// with this ioctl on a throwaway socket).
pub fn interfaceIndex(name: [*:0]const u8) sys.InterfaceError!u32 {
    const len = std.mem.len(name);
    if (len == 0 or len >= linux.IFNAMESIZE) return error.NoSuchDevice;
    var request = std.mem.zeroes(linux.ifreq);
    @memcpy(request.ifrn.name[0..len], name[0..len]);
    const fd = try socket(linux.AF.INET, linux.SOCK.DGRAM);
    defer close(fd) catch {};
    return switch (linux.errno(linux.ioctl(fd, linux.SIOCGIFINDEX, @intFromPtr(&request)))) {
        .SUCCESS => @intCast(request.ifru.ivalue),
        .NODEV => error.NoSuchDevice,
        .FAULT, .INVAL, .NOTTY => |e| sys.bug(@src(), e), // the library's own request
        else => |e| unexpected(e),
    };
}

pub fn setsockopt(fd: sys.fd_t, level: i32, name: u32, value: []const u8) sys.SetOptionError!void {
    const rc = linux.setsockopt(fd, level, name, value.ptr, @intCast(value.len));
    return switch (linux.errno(rc)) {
        .SUCCESS => {},
        .BADF => error.BadDescriptor,
        .NOTSOCK => error.NotSocket,
        .INVAL => error.InvalidArgument, // e.g. IPV6_V6ONLY after bind
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
    var len: u32 = @intCast(value.len);
    return switch (linux.errno(linux.getsockopt(fd, level, name, value.ptr, &len))) {
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
        const rc = linux.recvmsg(fd, message, flags);
        return switch (linux.errno(rc)) {
            .SUCCESS => rc,
            .INTR => continue,
            else => |e| sys.recvErrno(e),
        };
    }
}

/// Receives up to `headers.len` datagrams in one system call. As with recvmmsg(2), an error
/// that follows at least one datagram is held by the kernel and reported by the next call.
pub fn recvmmsg(fd: sys.fd_t, headers: []mmsghdr, flags: u32) sys.RecvError!usize {
    while (true) {
        const rc = linux.recvmmsg(fd, headers.ptr, @intCast(headers.len), flags, null);
        return switch (linux.errno(rc)) {
            .SUCCESS => {
                sys.checkKernel(rc <= headers.len, @src(), "recvmmsg");
                return rc;
            },
            .INTR => continue,
            else => |e| sys.recvErrno(e),
        };
    }
}

pub fn sendmsg(fd: sys.fd_t, message: *const msghdr_const, flags: u32) sys.SendError!usize {
    while (true) {
        const rc = linux.sendmsg(fd, message, flags);
        return switch (linux.errno(rc)) {
            .SUCCESS => rc,
            .INTR => continue,
            else => |e| sys.sendErrno(e),
        };
    }
}

/// Sends up to `headers.len` datagrams in one system call; returns how many were sent.
pub fn sendmmsg(fd: sys.fd_t, headers: []mmsghdr, flags: u32) sys.SendError!usize {
    while (true) {
        const rc = linux.sendmmsg(fd, headers.ptr, @intCast(headers.len), flags);
        return switch (linux.errno(rc)) {
            .SUCCESS => {
                sys.checkKernel(rc <= headers.len, @src(), "sendmmsg");
                return rc;
            },
            .INTR => continue,
            else => |e| sys.sendErrno(e),
        };
    }
}

pub fn read(fd: sys.fd_t, buffer: []u8) sys.ReadError!usize {
    while (true) {
        const rc = linux.read(fd, buffer.ptr, buffer.len);
        return switch (linux.errno(rc)) {
            .SUCCESS => rc,
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
        const rc = linux.write(fd, bytes.ptr, bytes.len);
        return switch (linux.errno(rc)) {
            .SUCCESS => rc,
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
    return switch (linux.errno(linux.pipe2(&fds, .{ .NONBLOCK = true, .CLOEXEC = true }))) {
        .SUCCESS => fds,
        .MFILE => error.ProcessFdQuotaExceeded,
        .NFILE => error.SystemFdQuotaExceeded,
        .FAULT, .INVAL => |e| sys.bug(@src(), e), // the library's own memory and flags
        else => |e| unexpected(e),
    };
}

/// Milliseconds on the monotonic clock, for retrying an interrupted wait with the time left.
/// Makes a descriptor opened by another program (a service manager's socket) non-blocking and
/// close-on-exec, as this library's own are from creation. O_NONBLOCK belongs to the open file,
/// which the other program may share; a service manager hands its sockets over for good.
pub fn adopt(fd: sys.fd_t) sys.AdoptError!void {
    const flags = linux.fcntl(fd, linux.F.GETFL, 0);
    switch (linux.errno(flags)) {
        .SUCCESS => {},
        .BADF => return error.BadDescriptor,
        else => |e| return unexpected(e),
    }
    const nonblock: u32 = @bitCast(linux.O{ .NONBLOCK = true });
    switch (linux.errno(linux.fcntl(fd, linux.F.SETFL, flags | nonblock))) {
        .SUCCESS => {},
        .BADF => return error.BadDescriptor,
        else => |e| return unexpected(e),
    }
    switch (linux.errno(linux.fcntl(fd, linux.F.SETFD, linux.FD_CLOEXEC))) {
        .SUCCESS => {},
        .BADF => return error.BadDescriptor,
        else => |e| return unexpected(e),
    }
}

pub fn monotonicMs() i64 {
    var now: linux.timespec = undefined;
    const rc = linux.clock_gettime(.MONOTONIC, &now);
    // CLOCK_MONOTONIC exists on every kernel Zig supports and `now` is valid memory.
    sys.checkKernel(linux.errno(rc) == .SUCCESS, @src(), "clock_gettime");
    return @as(i64, now.sec) * 1000 + @divTrunc(@as(i64, now.nsec), 1_000_000);
}

/// The CPU time the calling thread has used, in nanoseconds: exact to the call (the kernel brings
/// the running thread's count up to date), where getrusage(RUSAGE_THREAD) is only as fresh as
/// the last scheduler tick (4 ms at HZ=250).
pub fn threadCpuNs() u64 {
    var now: linux.timespec = undefined;
    const rc = linux.clock_gettime(.THREAD_CPUTIME_ID, &now);
    // The calling thread's clock always exists and `now` is valid memory.
    sys.checkKernel(linux.errno(rc) == .SUCCESS, @src(), "clock_gettime");
    return @as(u64, @intCast(now.sec)) * std.time.ns_per_s + @as(u64, @intCast(now.nsec));
}

/// Gives thread `tid` of this process the idle scheduling policy (SCHED_IDLE): it then runs only
/// when no other thread of its core is ready to, and never takes the core from one that wakes.
pub fn threadSetIdle(tid: i32) sys.ThreadIdleError!void {
    const param = linux.sched_param{ .priority = 0 };
    const rc = linux.sched_setscheduler(tid, .{ .mode = .IDLE }, &param);
    return switch (linux.errno(rc)) {
        .SUCCESS => {},
        .SRCH => error.NoSuchThread,
        .PERM => error.PermissionDenied,
        .INVAL => |e| sys.bug(@src(), e), // the policy and its priority 0 are valid, `tid` checked by `root.zig`
        else => |e| unexpected(e),
    };
}

/// The calling thread's id (`gettid`), as `/proc/self/task` lists it.
pub fn threadId() sys.ThreadIdleError!i32 {
    return linux.gettid();
}

/// The CPUs thread `tid` (0: the calling thread) may run on.
pub fn threadCpus(tid: i32, mask: *sys.CpuMask) sys.ThreadCpusError!void {
    const rc = linux.syscall3(.sched_getaffinity, @as(u32, @bitCast(tid)), mask.len, @intFromPtr(mask));
    switch (linux.errno(rc)) {
        // The kernel writes as many bytes as its own mask has (rc); the rest are no CPUs.
        .SUCCESS => @memset(mask[@min(rc, mask.len)..], 0),
        .SRCH => return error.NoSuchThread,
        .INVAL => return error.InvalidArgument, // a kernel of more than 1,024 CPUs: its mask does not fit
        else => |e| return unexpected(e),
    }
}

/// Lets thread `tid` (0: the calling thread) run on the CPUs of `mask` only. EINVAL: none of
/// them is one the thread may use (offline, or outside its cpuset).
pub fn threadSetCpus(tid: i32, mask: *const sys.CpuMask) sys.ThreadCpusError!void {
    const rc = linux.syscall3(.sched_setaffinity, @as(u32, @bitCast(tid)), mask.len, @intFromPtr(mask));
    return switch (linux.errno(rc)) {
        .SUCCESS => {},
        .SRCH => error.NoSuchThread,
        .PERM => error.PermissionDenied,
        .INVAL => error.InvalidArgument,
        else => |e| unexpected(e),
    };
}

/// The symbolic name of an errno value (`"AGAIN"` for EAGAIN), or null if it has none.
pub fn errnoName(code: u16) ?[]const u8 {
    const e = std.enums.fromInt(linux.E, code) orelse return null;
    return std.enums.tagName(linux.E, e);
}
