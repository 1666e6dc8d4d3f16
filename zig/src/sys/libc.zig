//! macOS and FreeBSD system calls through libc, turned into the kernel's `-errno` convention.
//!
//! macOS has no SOCK_NONBLOCK, SOCK_CLOEXEC, pipe2, recvmmsg or sendmmsg: descriptors get their
//! flags from fcntl right after creation, and batches are loops of single-datagram calls.

const std = @import("std");
const c = std.c;

pub const sockaddr = c.sockaddr;
pub const msghdr = c.msghdr;
pub const msghdr_const = c.msghdr_const;

/// The Linux layout, so that the batch code is the same on every OS.
pub const mmsghdr = extern struct {
    hdr: c.msghdr,
    len: u32,
};

fn result(rc: anytype) isize {
    if (rc == -1) return -@as(isize, @intCast(@backingInt(c.errno(rc))));
    return @intCast(rc);
}

fn interrupted(rc: anytype) bool {
    return rc == -1 and c.errno(rc) == .INTR;
}

/// Makes a fresh descriptor non-blocking and close-on-exec, closing it if that fails.
fn configure(fd: c.fd_t) isize {
    const nonblock: u32 = @bitCast(c.O{ .NONBLOCK = true });
    const flags = c.fcntl(fd, c.F.GETFL);
    const rc = if (flags == -1) flags else blk: {
        const set = c.fcntl(fd, c.F.SETFL, flags | @as(c_int, @intCast(nonblock)));
        if (set == -1) break :blk set;
        break :blk c.fcntl(fd, c.F.SETFD, @as(c_int, c.FD_CLOEXEC));
    };
    if (rc == -1) {
        const failure = result(rc);
        _ = c.close(fd);
        return failure;
    }
    return fd;
}

pub fn socket(domain: u32, socket_type: u32, protocol: u32) isize {
    const fd = c.socket(domain, socket_type, protocol);
    if (fd == -1) return result(fd);
    return configure(fd);
}

/// macOS and FreeBSD release the descriptor even when close reports EINTR: never retry it.
pub fn close(fd: i32) isize {
    const rc = c.close(fd);
    if (interrupted(rc)) return 0;
    return result(rc);
}

pub fn bind(fd: i32, address: *const c.sockaddr, len: u32) isize {
    return result(c.bind(fd, address, len));
}

pub fn getsockname(fd: i32, address: *c.sockaddr, len: *u32) isize {
    return result(c.getsockname(fd, address, len));
}

pub fn setsockopt(fd: i32, level: i32, name: u32, value: []const u8) isize {
    return result(c.setsockopt(fd, level, name, value.ptr, @intCast(value.len)));
}

pub fn getsockopt(fd: i32, level: i32, name: u32, value: []u8, len: *u32) isize {
    len.* = @intCast(value.len);
    return result(c.getsockopt(fd, level, name, value.ptr, len));
}

pub fn recvmsg(fd: i32, message: *c.msghdr, flags: u32) isize {
    while (true) {
        const rc = c.recvmsg(fd, message, flags);
        if (!interrupted(rc)) return result(rc);
    }
}

pub fn sendmsg(fd: i32, message: *const c.msghdr_const, flags: u32) isize {
    while (true) {
        const rc = c.sendmsg(fd, message, flags);
        if (!interrupted(rc)) return result(rc);
    }
}

/// recvmmsg(2) as a loop: stops at the first error, which is returned only if no datagram came
/// before it. A condition that persists (EAGAIN) is met again by the next call; a pending
/// socket error (ECONNREFUSED) is cleared once reported, so that one is not.
pub fn recvmmsg(fd: i32, headers: []mmsghdr, flags: u32) isize {
    for (headers, 0..) |*header, index| {
        const rc = recvmsg(fd, &header.hdr, flags);
        if (rc < 0) return if (index == 0) rc else @intCast(index);
        header.len = @intCast(rc);
    }
    return @intCast(headers.len);
}

/// sendmmsg(2) as a loop, with the same rule for errors as `recvmmsg`.
pub fn sendmmsg(fd: i32, headers: []mmsghdr, flags: u32) isize {
    for (headers, 0..) |*header, index| {
        const rc = sendmsg(fd, @ptrCast(&header.hdr), flags);
        if (rc < 0) return if (index == 0) rc else @intCast(index);
        header.len = @intCast(rc);
    }
    return @intCast(headers.len);
}

pub fn read(fd: i32, buffer: []u8) isize {
    while (true) {
        const rc = c.read(fd, buffer.ptr, buffer.len);
        if (!interrupted(rc)) return result(rc);
    }
}

pub fn write(fd: i32, bytes: []const u8) isize {
    while (true) {
        const rc = c.write(fd, bytes.ptr, bytes.len);
        if (!interrupted(rc)) return result(rc);
    }
}

/// A non-blocking, close-on-exec pipe: `fds[0]` reads, `fds[1]` writes.
pub fn pipe(fds: *[2]i32) isize {
    const rc = c.pipe(fds);
    if (rc == -1) return result(rc);
    for (fds) |fd| {
        const configured = configure(fd);
        if (configured < 0) {
            // `configure` closed the descriptor it failed on; close the other one too.
            for (fds) |other| if (other != fd) {
                _ = c.close(other);
            };
            return configured;
        }
    }
    return 0;
}

pub fn monotonicMs() i64 {
    var now: c.timespec = undefined;
    const rc = c.clock_gettime(.MONOTONIC, &now);
    std.debug.assert(rc == 0);
    return @as(i64, now.sec) * 1000 + @divTrunc(@as(i64, now.nsec), 1_000_000);
}

pub fn errnoName(code: u16) ?[]const u8 {
    const e = std.enums.fromInt(c.E, code) orelse return null;
    return std.enums.tagName(c.E, e);
}
