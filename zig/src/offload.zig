//! UDP segmentation offloads on Linux: receiving with `UDP_GRO` and sending with `UDP_SEGMENT`.
//!
//! With `UDP_GRO` on, the kernel may hand the receiver several datagrams of one flow as one
//! buffer, with their size in a control message (level `SOL_UDP`, type `UDP_GRO`, an `int`):
//! N datagrams of that size, the last one possibly shorter, all from the same source. With a
//! `UDP_SEGMENT` control message (a `u16`) on a send, the kernel cuts one buffer into datagrams
//! of that size the same way. udp(7) documents both (Linux 4.18 for GSO, 5.0 for GRO).
//!
//! The kernel never segments a coalesced buffer again to fit a receive buffer: a slot smaller
//! than the buffer truncates it and loses datagrams. A slot of `abi.coalesced_max` bytes holds
//! the largest the kernel makes.
//!
//! Elsewhere (macOS, the BSDs) there is no such offload: `enable` says so with
//! `error.OptionUnsupported`, as a kernel before 5.0 does.

const std = @import("std");
const builtin = @import("builtin");
const abi = @import("abi.zig");
const sys = @import("sys.zig");

pub const supported = builtin.os.tag == .linux;

const linux = std.os.linux;
const cmsghdr = linux.cmsghdr;

/// `SOL_UDP` and the two options, as linux/udp.h numbers them.
pub const sol_udp: i32 = 17;
pub const udp_segment: i32 = 103;
const udp_gro: i32 = 104;

/// `CMSG_ALIGN`: control messages are aligned to the size of a `long`.
fn cmsgAlign(len: usize) usize {
    return std.mem.alignForward(usize, len, @sizeOf(usize));
}

/// Bytes of control buffer each message of a batch gets: room for one `int` control message
/// (`CMSG_SPACE(sizeof(int))`, 24 bytes on 64-bit Linux). A receive with UDP_GRO gets at most
/// one; a segmented send carries exactly one.
pub const control_size = cmsgAlign(@sizeOf(cmsghdr) + @sizeOf(c_int));

/// One message's control buffer, aligned for the `cmsghdr` at its start.
pub const Control = [control_size]u8;
pub const control_align = @alignOf(cmsghdr);

/// Turns both offloads on for `fd`, or returns the error of the option the kernel refused
/// (`error.OptionUnsupported`, ENOPROTOOPT, before Linux 4.18 or 5.0 and off Linux). It is both
/// or neither: an echo that can receive bursts but not send them, or the reverse, gains
/// nothing, so a refusal of either leaves both off.
pub fn enable(fd: sys.fd_t) sys.SetOptionError!void {
    if (!supported) return error.OptionUnsupported;
    // Setting UDP_SEGMENT proves the kernel knows GSO; it is set back to 0 at once, because a
    // socket-wide segment size would cut every send, and each send asks for its own instead.
    const size: c_int = 1200;
    const off: c_int = 0;
    const on: c_int = 1;
    try sys.setsockopt(fd, sol_udp, udp_segment, std.mem.asBytes(&size));
    try sys.setsockopt(fd, sol_udp, udp_segment, std.mem.asBytes(&off));
    try sys.setsockopt(fd, sol_udp, udp_gro, std.mem.asBytes(&on));
}

/// The segment size the kernel reported for a received message of `len` bytes, or 0 if it is
/// one plain datagram (no UDP_GRO control message, or one that covers the whole message).
pub fn receivedSegmentSize(control: []const u8, len: usize) u16 {
    if (!supported) return 0;
    var offset: usize = 0;
    while (offset + @sizeOf(cmsghdr) <= control.len) {
        const header: *align(1) const cmsghdr = @ptrCast(control[offset..].ptr);
        if (header.len < @sizeOf(cmsghdr) or offset + header.len > control.len) return 0;
        if (header.level == sol_udp and header.type == udp_gro and header.len >= @sizeOf(cmsghdr) + @sizeOf(c_int)) {
            const value = std.mem.readInt(c_int, control[offset + @sizeOf(cmsghdr) ..][0..@sizeOf(c_int)], builtin.cpu.arch.endian());
            if (value <= 0 or value >= len) return 0;
            return @intCast(@min(value, std.math.maxInt(u16)));
        }
        offset += cmsgAlign(header.len);
    }
    return 0;
}

/// How many datagrams a message of `len` bytes cut into `segment_size` pieces makes (one for a
/// plain datagram, `segment_size` 0, and for an empty one).
pub fn segmentCount(len: usize, segment_size: u16) usize {
    if (segment_size == 0 or len == 0) return 1;
    return std.math.divCeil(usize, len, segment_size) catch unreachable;
}

/// Whether a send of `len` bytes with `segment_size` needs a UDP_SEGMENT control message, or
/// why it cannot be sent so: more than `abi.segments_max` segments is `error.InvalidArgument`,
/// and a segmented send where there is no offload is `error.OptionUnsupported`.
pub fn segmentedSend(len: usize, segment_size: u16) error{ InvalidArgument, OptionUnsupported }!bool {
    if (segment_size == 0 or len <= segment_size) return false;
    if (!supported) return error.OptionUnsupported;
    if (segmentCount(len, segment_size) > abi.segments_max) return error.InvalidArgument;
    return true;
}

/// Writes the UDP_SEGMENT control message asking the kernel to cut a send into datagrams of
/// `segment_size` bytes; returns the bytes of `control` it fills.
pub fn writeSegmentControl(control: *align(control_align) Control, segment_size: u16) usize {
    const header: *cmsghdr = @ptrCast(control);
    header.* = .{ .len = @sizeOf(cmsghdr) + @sizeOf(u16), .level = sol_udp, .type = udp_segment };
    std.mem.writeInt(u16, control[@sizeOf(cmsghdr)..][0..2], segment_size, builtin.cpu.arch.endian());
    return cmsgAlign(@sizeOf(cmsghdr) + @sizeOf(u16));
}

/// Whether `message` (a `msghdr` about to be sent) carries a UDP_SEGMENT control message: a
/// segmented send, which a message with only datagram info (`datagram_info.zig`) is not.
pub fn hasSegmentSize(message: anytype) bool {
    if (!supported or message.controllen == 0) return false;
    const control: [*]const u8 = @ptrCast(message.control.?);
    const len: usize = message.controllen;
    var offset: usize = 0;
    while (offset + @sizeOf(cmsghdr) <= len) {
        const header: *align(1) const cmsghdr = @ptrCast(control + offset);
        if (header.len < @sizeOf(cmsghdr) or offset + header.len > len) return false;
        if (header.level == sol_udp and header.type == udp_segment) return true;
        offset += cmsgAlign(header.len);
    }
    return false;
}
