//! Linux system calls, made directly (no libc), in the kernel's `-errno` convention.
//!
//! Descriptors are always created non-blocking and close-on-exec, atomically, so that no other
//! thread can fork between creation and `fcntl` and leak them into a child.

const std = @import("std");
const linux = std.os.linux;

pub const sockaddr = linux.sockaddr;
pub const msghdr = linux.msghdr;
pub const msghdr_const = linux.msghdr_const;
pub const mmsghdr = linux.mmsghdr;

/// The raw return of a Linux system call is already `-errno` on failure, as two's complement.
fn result(rc: usize) isize {
    return @bitCast(rc);
}

fn interrupted(rc: usize) bool {
    return linux.errno(rc) == .INTR;
}

pub fn socket(domain: u32, socket_type: u32, protocol: u32) isize {
    const flags = linux.SOCK.NONBLOCK | linux.SOCK.CLOEXEC;
    return result(linux.socket(domain, socket_type | flags, protocol));
}

/// Linux releases the descriptor even when close reports EINTR, so a retry could close a
/// descriptor that another thread has just been given: https://lwn.net/Articles/576478/
pub fn close(fd: i32) isize {
    const rc = linux.close(fd);
    if (interrupted(rc)) return 0;
    return result(rc);
}

pub fn bind(fd: i32, address: *const linux.sockaddr, len: u32) isize {
    return result(linux.bind(fd, address, len));
}

pub fn getsockname(fd: i32, address: *linux.sockaddr, len: *u32) isize {
    return result(linux.getsockname(fd, address, len));
}

pub fn setsockopt(fd: i32, level: i32, name: u32, value: []const u8) isize {
    return result(linux.setsockopt(fd, level, name, value.ptr, @intCast(value.len)));
}

pub fn getsockopt(fd: i32, level: i32, name: u32, value: []u8, len: *u32) isize {
    len.* = @intCast(value.len);
    return result(linux.getsockopt(fd, level, name, value.ptr, len));
}

pub fn recvmsg(fd: i32, message: *linux.msghdr, flags: u32) isize {
    while (true) {
        const rc = linux.recvmsg(fd, message, flags);
        if (!interrupted(rc)) return result(rc);
    }
}

pub fn sendmsg(fd: i32, message: *const linux.msghdr_const, flags: u32) isize {
    while (true) {
        const rc = linux.sendmsg(fd, message, flags);
        if (!interrupted(rc)) return result(rc);
    }
}

/// Receives up to `headers.len` datagrams in one system call. As with recvmmsg(2), an error
/// that follows at least one datagram is held by the kernel and reported by the next call.
pub fn recvmmsg(fd: i32, headers: []mmsghdr, flags: u32) isize {
    while (true) {
        const rc = linux.recvmmsg(fd, headers.ptr, @intCast(headers.len), flags, null);
        if (!interrupted(rc)) return result(rc);
    }
}

/// Sends up to `headers.len` datagrams in one system call; returns how many were sent.
pub fn sendmmsg(fd: i32, headers: []mmsghdr, flags: u32) isize {
    while (true) {
        const rc = linux.sendmmsg(fd, headers.ptr, @intCast(headers.len), flags);
        if (!interrupted(rc)) return result(rc);
    }
}

pub fn read(fd: i32, buffer: []u8) isize {
    while (true) {
        const rc = linux.read(fd, buffer.ptr, buffer.len);
        if (!interrupted(rc)) return result(rc);
    }
}

pub fn write(fd: i32, bytes: []const u8) isize {
    while (true) {
        const rc = linux.write(fd, bytes.ptr, bytes.len);
        if (!interrupted(rc)) return result(rc);
    }
}

/// A non-blocking, close-on-exec pipe: `fds[0]` reads, `fds[1]` writes.
pub fn pipe(fds: *[2]i32) isize {
    return result(linux.pipe2(fds, .{ .NONBLOCK = true, .CLOEXEC = true }));
}

/// Milliseconds on the monotonic clock, for retrying an interrupted wait with the time left.
pub fn monotonicMs() i64 {
    var now: linux.timespec = undefined;
    const rc = linux.clock_gettime(.MONOTONIC, &now);
    // CLOCK_MONOTONIC exists on every kernel Zig supports and `now` is valid memory.
    std.debug.assert(linux.errno(rc) == .SUCCESS);
    return @as(i64, now.sec) * 1000 + @divTrunc(@as(i64, now.nsec), 1_000_000);
}

/// The symbolic name of an errno value (`"AGAIN"` for EAGAIN), or null if it has none.
pub fn errnoName(code: u16) ?[]const u8 {
    const e = std.enums.fromInt(linux.E, code) orelse return null;
    return std.enums.tagName(linux.E, e);
}
