//! The C ABI of libbun_reactor, and nothing else.
//!
//! Every export returns a signed integer: `>= 0` is a count, a length or a descriptor, and
//! `< 0` is `-errno` with the OS's own errno numbers (`br_errno_name` names them). The library
//! inside speaks Zig errors (`sys.Error`); this file alone turns them into `-errno`, in `errno`.
//!
//! Every pointer comes with its length in bytes, which bun:ffi takes from the typed array itself
//! (`buffer` and `buffer_length` arguments), so this side checks every access against the real
//! size of the memory: a null pointer is `-EFAULT`, and memory too short or misaligned for what
//! it must hold is `-EINVAL`. Bad input is an error, never a crash.

const std = @import("std");
const abi = @import("abi.zig");
const sys = @import("sys.zig");
const poller = @import("poller.zig");
const udp = @import("udp.zig");
const signals = @import("signals.zig");
const fault = @import("fault.zig");
const ip = @import("ip.zig");

/// The one errno each of the library's errors stands for (public for the tests).
pub fn errno(err: sys.Error) sys.E {
    return switch (err) {
        error.WouldBlock => .AGAIN,
        error.BadDescriptor => .BADF,
        error.NotSocket => .NOTSOCK,
        error.InvalidArgument => .INVAL,
        error.AddressFamilyUnsupported => .AFNOSUPPORT,
        error.AddressInUse => .ADDRINUSE,
        error.AddressNotAvailable => .ADDRNOTAVAIL,
        error.AccessDenied => .ACCES,
        error.PermissionDenied => .PERM,
        error.OptionUnsupported => .NOPROTOOPT,
        error.ConnectionRefused => .CONNREFUSED,
        error.HostUnreachable => .HOSTUNREACH,
        error.HostDown => .HOSTDOWN,
        error.NetworkUnreachable => .NETUNREACH,
        error.NetworkDown => .NETDOWN,
        error.MessageTooLarge => .MSGSIZE,
        error.NoBufferSpace => .NOBUFS,
        error.SystemResources => .NOMEM,
        error.ProcessFdQuotaExceeded => .MFILE,
        error.SystemFdQuotaExceeded => .NFILE,
        error.BrokenPipe => .PIPE,
        error.AlreadyRegistered => .EXIST,
        error.NotRegistered => .NOENT,
        error.RegistrationLoop => .LOOP,
        error.TooManyRegistrations => .NOSPC,
        error.Busy => .BUSY,
        error.OperationUnsupported => .OPNOTSUPP,
        error.ProtocolError => .PROTO,
        error.TimedOut => .TIMEDOUT,
        error.NotConnected => .NOTCONN,
        error.NoSuchDevice => .NODEV,
        error.NoSuchThread => .SRCH,
        error.Unexpected => .IO,
    };
}

fn negative(e: sys.E) i32 {
    return -@as(i32, @backingInt(e));
}

/// The export's return value for a result of the library: its count, length or descriptor,
/// 0 for none, or `-errno`.
fn result(value: anytype) i32 {
    const payload = value catch |err| return negative(errno(err));
    return switch (@TypeOf(payload)) {
        void => 0,
        // Counts are bounded by the caller's buffers (at most a few megabytes), descriptors
        // and option values are `i32` already.
        usize => @intCast(payload),
        // A descriptor or an option's value, as the kernel returned it: a negative one would
        // pass for `-errno`.
        i32 => blk: {
            sys.checkKernel(payload >= 0, @src(), "socket, pipe or getsockopt");
            break :blk payload;
        },
        else => @compileError("no C ABI form for " ++ @typeName(@TypeOf(payload))),
    };
}

const efault: i32 = negative(.FAULT);
const einval: i32 = negative(.INVAL);
const erange: i32 = negative(.RANGE);

/// Backs the empty slices made for null pointers. A pointer to a zero-sized array is not a real
/// address, and the kernel rejects it with EFAULT even for a zero-length transfer.
var empty: [1]u8 = undefined;

const Checked = enum { ok, null_pointer, too_short, misaligned };

fn check(comptime T: type, ptr: ?[*]u8, len: usize, min_count: usize) Checked {
    const p = ptr orelse return .null_pointer;
    if (len / @sizeOf(T) < min_count) return .too_short;
    if (@intFromPtr(p) % @alignOf(T) != 0) return .misaligned;
    return .ok;
}

fn refusal(checked: Checked) i32 {
    return switch (checked) {
        .ok => unreachable,
        .null_pointer => efault,
        .too_short, .misaligned => einval,
    };
}

/// The `T` at `ptr`, or the export's refusal if `len` bytes cannot hold one.
fn one(comptime T: type, ptr: ?[*]u8, len: usize) union(enum) { value: *T, refused: i32 } {
    const checked = check(T, ptr, len, 1);
    if (checked != .ok) return .{ .refused = refusal(checked) };
    return .{ .value = @ptrCast(@alignCast(ptr.?)) };
}

/// As many `T` as `len` bytes hold (at least one), or the export's refusal.
fn many(comptime T: type, ptr: ?[*]u8, len: usize) union(enum) { value: []T, refused: i32 } {
    const checked = check(T, ptr, len, 1);
    if (checked != .ok) return .{ .refused = refusal(checked) };
    const items: [*]T = @ptrCast(@alignCast(ptr.?));
    return .{ .value = items[0 .. len / @sizeOf(T)] };
}

/// Plain bytes. bun:ffi may pass null for an empty typed array.
fn bytes(ptr: ?[*]u8, len: usize) ?[]u8 {
    if (ptr) |p| return p[0..len];
    return if (len == 0) empty[0..0] else null;
}

/// Writes this library's struct layout for TypeScript to check against its mirror.
pub export fn br_abi_layout(out: ?[*]u8, out_len: usize) i32 {
    const layout = switch (one(abi.Layout, out, out_len)) {
        .value => |v| v,
        .refused => |rc| return rc,
    };
    layout.* = .{};
    return 0;
}

/// Writes every integer constant shared with TypeScript, one `name value` line each (see
/// `abi.constantsText`); returns the text's length.
pub export fn br_abi_constants(out: ?[*]u8, out_len: usize) i32 {
    const text = comptime abi.constantsText(abi);
    const buffer = bytes(out, out_len) orelse return efault;
    if (text.len > buffer.len) return erange;
    @memcpy(buffer[0..text.len], text);
    return @intCast(text.len);
}

/// Writes the name of errno `code` (`EAGAIN`) into `out`; returns its length, or 0 if the code
/// has no name on this OS.
pub export fn br_errno_name(code: i32, out: ?[*]u8, out_len: usize) i32 {
    const buffer = bytes(out, out_len) orelse return efault;
    if (code <= 0 or code > std.math.maxInt(u16)) return 0;
    const bare = sys.errnoName(@intCast(code)) orelse return 0;
    if (bare.len + 1 > buffer.len) return erange;
    buffer[0] = 'E';
    @memcpy(buffer[1 .. bare.len + 1], bare);
    return @intCast(bare.len + 1);
}

/// Writes the poller backend's name (`epoll`, `kqueue`) into `out`; returns its length.
pub export fn br_poller_backend(out: ?[*]u8, out_len: usize) i32 {
    const buffer = bytes(out, out_len) orelse return efault;
    if (poller.name.len > buffer.len) return erange;
    @memcpy(buffer[0..poller.name.len], poller.name);
    return @intCast(poller.name.len);
}

/// Writes the CPU time the calling thread has used, in nanoseconds, into `out` as one f64: exact
/// to 2^53 ns (104 days of CPU time). A double, not a u64: JavaScript reads it as it is, where
/// two 32-bit halves made the compiled reader start over the first time the low half passed 2^31.
pub export fn br_thread_cpu_ns(out: ?[*]u8, out_len: usize) i32 {
    const ns = switch (one(f64, out, out_len)) {
        .value => |v| v,
        .refused => |rc| return rc,
    };
    ns.* = @floatFromInt(sys.threadCpuNs());
    return 0;
}

/// Gives thread `tid` of this process (a thread id, > 0) the idle scheduling policy; 0, or
/// `-errno` (ESRCH: no such thread; EOPNOTSUPP where the OS has no such policy per thread).
pub export fn br_thread_set_idle(tid: i32) i32 {
    if (tid <= 0) return negative(.INVAL);
    return result(sys.threadSetIdle(tid));
}

/// The calling thread's id (> 0), or `-errno` (EOPNOTSUPP where the OS has none to give).
pub export fn br_thread_id() i32 {
    const tid = sys.threadId() catch |err| return negative(errno(err));
    return tid;
}

/// Writes the CPUs thread `tid` (0: the calling thread) may run on into `mask` (a `CpuMask`,
/// 128 bytes, bit `n % 8` of byte `n / 8` for CPU `n`); 0, or `-errno`.
pub export fn br_thread_cpus(tid: i32, mask: ?[*]u8, mask_len: usize) i32 {
    if (tid < 0) return negative(.INVAL);
    return switch (one(sys.CpuMask, mask, mask_len)) {
        .value => |m| result(sys.threadCpus(tid, m)),
        .refused => |rc| rc,
    };
}

/// Lets thread `tid` (0: the calling thread) run on the CPUs of `mask` only (as above); 0, or
/// `-errno` (EINVAL: none of them is one it may use; ESRCH: no such thread).
pub export fn br_thread_set_cpus(tid: i32, mask: ?[*]u8, mask_len: usize) i32 {
    if (tid < 0) return negative(.INVAL);
    return switch (one(sys.CpuMask, mask, mask_len)) {
        .value => |m| result(sys.threadSetCpus(tid, m)),
        .refused => |rc| rc,
    };
}

pub export fn br_poller_open(handle: ?[*]u8, handle_len: usize) i32 {
    const p = switch (one(abi.Poller, handle, handle_len)) {
        .value => |v| v,
        .refused => |rc| return rc,
    };
    p.* = poller.open() catch |err| return negative(errno(err));
    return 0;
}

pub export fn br_poller_close(handle: ?[*]u8, handle_len: usize) i32 {
    return switch (one(abi.Poller, handle, handle_len)) {
        .value => |p| result(poller.close(p.*)),
        .refused => |rc| rc,
    };
}

pub export fn br_poller_register(handle: ?[*]u8, handle_len: usize, fd: i32, token: u64, interest: u32) i32 {
    return switch (one(abi.Poller, handle, handle_len)) {
        .value => |p| result(poller.register(p.*, fd, token, interest)),
        .refused => |rc| rc,
    };
}

pub export fn br_poller_reregister(handle: ?[*]u8, handle_len: usize, fd: i32, token: u64, interest: u32) i32 {
    return switch (one(abi.Poller, handle, handle_len)) {
        .value => |p| result(poller.reregister(p.*, fd, token, interest)),
        .refused => |rc| rc,
    };
}

pub export fn br_poller_deregister(handle: ?[*]u8, handle_len: usize, fd: i32) i32 {
    return switch (one(abi.Poller, handle, handle_len)) {
        .value => |p| result(poller.deregister(p.*, fd)),
        .refused => |rc| rc,
    };
}

/// Waits for events into `events` (as many as it holds, up to `abi.events_max`).
pub export fn br_poller_wait(handle: ?[*]u8, handle_len: usize, events: ?[*]u8, events_len: usize, timeout_ms: i32) i32 {
    const p = switch (one(abi.Poller, handle, handle_len)) {
        .value => |v| v,
        .refused => |rc| return rc,
    };
    return switch (many(abi.Event, events, events_len)) {
        .value => |out| result(poller.wait(p.*, out, timeout_ms)),
        .refused => |rc| rc,
    };
}

/// Interrupts a wait on the same poller. Safe to call from any thread.
pub export fn br_poller_wake(handle: ?[*]u8, handle_len: usize) i32 {
    return switch (one(abi.Poller, handle, handle_len)) {
        .value => |p| result(poller.wake(p.*)),
        .refused => |rc| rc,
    };
}

pub export fn br_udp_open(family: u32) i32 {
    return result(udp.open(family));
}

pub export fn br_udp_set_option(fd: i32, option: u32, value: i32) i32 {
    return result(udp.setOption(fd, option, value));
}

pub export fn br_udp_get_option(fd: i32, option: u32) i32 {
    return result(udp.getOption(fd, option));
}

pub export fn br_udp_bind(fd: i32, address: ?[*]u8, address_len: usize) i32 {
    return switch (one(abi.Address, address, address_len)) {
        .value => |a| result(udp.bind(fd, a)),
        .refused => |rc| rc,
    };
}

pub export fn br_udp_local_address(fd: i32, out: ?[*]u8, out_len: usize) i32 {
    return switch (one(abi.Address, out, out_len)) {
        .value => |a| result(udp.localAddress(fd, a)),
        .refused => |rc| rc,
    };
}

/// Receives one datagram into `buffer`; its length, flags and sender go to `datagram`. A
/// zero-length buffer is allowed: the datagram is consumed and reported truncated.
pub export fn br_udp_recv_from(fd: i32, buffer: ?[*]u8, buffer_len: usize, datagram: ?[*]u8, datagram_len: usize) i32 {
    const payload = bytes(buffer, buffer_len) orelse return efault;
    return switch (one(abi.Datagram, datagram, datagram_len)) {
        .value => |d| result(udp.recvFrom(fd, payload, d)),
        .refused => |rc| rc,
    };
}

pub export fn br_udp_send_to(fd: i32, payload: ?[*]u8, payload_len: usize, address: ?[*]u8, address_len: usize) i32 {
    const message = bytes(payload, payload_len) orelse return efault;
    return switch (one(abi.Address, address, address_len)) {
        .value => |a| result(udp.sendTo(fd, message, a)),
        .refused => |rc| rc,
    };
}

/// Receives as many datagrams as `datagrams` holds entries and `buffer` holds slots of
/// `slot_size` bytes (at most `abi.batch_max`); datagram `i` goes to slot `i`.
pub export fn br_udp_recv_batch(fd: i32, buffer: ?[*]u8, buffer_len: usize, slot_size: u32, datagrams: ?[*]u8, datagrams_len: usize) i32 {
    const slots = bytes(buffer, buffer_len) orelse return efault;
    return switch (many(abi.Datagram, datagrams, datagrams_len)) {
        .value => |d| result(udp.recvBatch(fd, slots, slot_size, d)),
        .refused => |rc| rc,
    };
}

/// Sends the datagrams that `datagrams` describes from the slots of `buffer`; returns how many
/// were sent (an error only if the first could not be).
pub export fn br_udp_send_batch(fd: i32, buffer: ?[*]u8, buffer_len: usize, slot_size: u32, datagrams: ?[*]u8, datagrams_len: usize) i32 {
    const slots = bytes(buffer, buffer_len) orelse return efault;
    return switch (many(abi.Datagram, datagrams, datagrams_len)) {
        .value => |d| result(udp.sendBatch(fd, slots, slot_size, d)),
        .refused => |rc| rc,
    };
}

/// Turns on UDP GRO (receive) and GSO (send) for a socket: 0, or `-errno` of the option the OS
/// refused (`ENOPROTOOPT` where there is no such offload: a kernel before 5.0, or not Linux),
/// and then neither is on.
pub export fn br_udp_enable_offload(fd: i32) i32 {
    return result(udp.enableOffload(fd));
}

/// The datagrams the kernel dropped for this socket since it was opened (see `udp.kernelDrops`),
/// modulo 2^31 so that the count is never mistaken for `-errno`; `-ENOPROTOOPT` where the OS
/// keeps no such count.
pub export fn br_udp_kernel_drops(fd: i32) i32 {
    const drops = udp.kernelDrops(fd) catch |err| return negative(errno(err));
    return @intCast(drops & std.math.maxInt(i32));
}

/// Queues the ICMP errors replies meet, for `br_udp_recv_error` (see `udp.enableErrorQueue`);
/// `-ENOPROTOOPT` where the OS has no error queue.
pub export fn br_udp_enable_error_queue(fd: i32, family: u32) i32 {
    return result(udp.enableErrorQueue(fd, family));
}

/// Takes the oldest queued error: returns its errno (`ECONNREFUSED` for a closed port), writes
/// it to `out` (an `abi.QueuedError`) with the destination of the datagram that met it and, for
/// `EMSGSIZE`, the path MTU; `-EAGAIN` when none waits.
pub export fn br_udp_recv_error(fd: i32, out: ?[*]u8, out_len: usize) i32 {
    return switch (one(abi.QueuedError, out, out_len)) {
        .value => |a| blk: {
            const code = udp.recvError(fd, a) catch |err| break :blk negative(errno(err));
            break :blk @intCast(@min(code, std.math.maxInt(i32)));
        },
        .refused => |rc| rc,
    };
}

/// Asks the kernel to report each received datagram's destination and interface
/// (`abi.info_local`) and traffic class (`abi.info_traffic_class`), for the `*_info` receives;
/// 0 turns both off. `-EINVAL` for other bits.
pub export fn br_udp_set_datagram_info(fd: i32, what: u32) i32 {
    return result(udp.setDatagramInfo(fd, what));
}

/// The `abi.info_*` bits the socket reports, read back from the kernel.
pub export fn br_udp_get_datagram_info(fd: i32) i32 {
    const what = udp.getDatagramInfo(fd) catch |err| return negative(errno(err));
    return @intCast(what);
}

/// `br_udp_recv_from`, and the datagram's info into `info` (one `abi.DatagramInfo`).
pub export fn br_udp_recv_from_info(fd: i32, buffer: ?[*]u8, buffer_len: usize, datagram: ?[*]u8, datagram_len: usize, info: ?[*]u8, info_len: usize) i32 {
    const payload = bytes(buffer, buffer_len) orelse return efault;
    const d = switch (one(abi.Datagram, datagram, datagram_len)) {
        .value => |v| v,
        .refused => |rc| return rc,
    };
    return switch (one(abi.DatagramInfo, info, info_len)) {
        .value => |i| result(udp.recvFromInfo(fd, payload, d, i)),
        .refused => |rc| rc,
    };
}

/// `br_udp_send_to`, from the source and with the traffic class that `info` asks for.
pub export fn br_udp_send_to_info(fd: i32, payload: ?[*]u8, payload_len: usize, address: ?[*]u8, address_len: usize, info: ?[*]u8, info_len: usize) i32 {
    const message = bytes(payload, payload_len) orelse return efault;
    const a = switch (one(abi.Address, address, address_len)) {
        .value => |v| v,
        .refused => |rc| return rc,
    };
    return switch (one(abi.DatagramInfo, info, info_len)) {
        .value => |i| result(udp.sendToInfo(fd, message, a, i)),
        .refused => |rc| rc,
    };
}

/// `br_udp_recv_batch`, and entry `i`'s info into entry `i` of `infos`.
pub export fn br_udp_recv_batch_info(fd: i32, buffer: ?[*]u8, buffer_len: usize, slot_size: u32, datagrams: ?[*]u8, datagrams_len: usize, infos: ?[*]u8, infos_len: usize) i32 {
    const slots = bytes(buffer, buffer_len) orelse return efault;
    const d = switch (many(abi.Datagram, datagrams, datagrams_len)) {
        .value => |v| v,
        .refused => |rc| return rc,
    };
    return switch (many(abi.DatagramInfo, infos, infos_len)) {
        .value => |i| result(udp.recvBatchInfo(fd, slots, slot_size, d, i)),
        .refused => |rc| rc,
    };
}

/// `br_udp_send_batch`, entry `i` sent as entry `i` of `infos` asks.
pub export fn br_udp_send_batch_info(fd: i32, buffer: ?[*]u8, buffer_len: usize, slot_size: u32, datagrams: ?[*]u8, datagrams_len: usize, infos: ?[*]u8, infos_len: usize) i32 {
    const slots = bytes(buffer, buffer_len) orelse return efault;
    const d = switch (many(abi.Datagram, datagrams, datagrams_len)) {
        .value => |v| v,
        .refused => |rc| return rc,
    };
    return switch (many(abi.DatagramInfo, infos, infos_len)) {
        .value => |i| result(udp.sendBatchInfo(fd, slots, slot_size, d, i)),
        .refused => |rc| rc,
    };
}

/// What kind of socket `fd` is: an `abi.socket_kind_*` value, `-ENOTSOCK` for a descriptor that
/// is not a socket, `-EBADF` for one that is not open.
pub export fn br_socket_kind(fd: i32) i32 {
    const kind = udp.socketKind(fd) catch |err| return negative(errno(err));
    return @intCast(kind);
}

/// Makes a descriptor this library did not open (a socket passed by a service manager)
/// non-blocking and close-on-exec, as its own are: 0, or `-EBADF`.
pub export fn br_descriptor_adopt(fd: i32) i32 {
    if (fd < 0) return negative(.BADF);
    return result(sys.adopt(fd));
}

// Connected sockets, multicast and the IP layer's options (issue 20).

/// Connects the socket to the peer at `address` (see `udp.connect`).
pub export fn br_udp_connect(fd: i32, address: ?[*]u8, address_len: usize) i32 {
    return switch (one(abi.Address, address, address_len)) {
        .value => |a| result(udp.connect(fd, a)),
        .refused => |rc| rc,
    };
}

/// Dissolves the socket's connection, keeping it bound to `address` (see `udp.disconnect`).
pub export fn br_udp_disconnect(fd: i32, address: ?[*]u8, address_len: usize) i32 {
    return switch (one(abi.Address, address, address_len)) {
        .value => |a| result(udp.disconnect(fd, a)),
        .refused => |rc| rc,
    };
}

/// Writes the connected peer to `out`; `-ENOTCONN` if the socket is not connected.
pub export fn br_udp_peer_address(fd: i32, out: ?[*]u8, out_len: usize) i32 {
    return switch (one(abi.Address, out, out_len)) {
        .value => |a| result(udp.peerAddress(fd, a)),
        .refused => |rc| rc,
    };
}

/// Sends `payload` as one datagram to the connected peer; returns the bytes sent.
pub export fn br_udp_send(fd: i32, payload: ?[*]u8, payload_len: usize) i32 {
    const message = bytes(payload, payload_len) orelse return efault;
    return result(udp.send(fd, message));
}

/// Sets an `abi.IpOption` on a socket of `family` (4 or 6); `-EINVAL` for a value out of range.
pub export fn br_udp_set_ip_option(fd: i32, family: u32, option: u32, value: i32) i32 {
    return result(ip.setOption(fd, family, option, value));
}

pub export fn br_udp_get_ip_option(fd: i32, family: u32, option: u32) i32 {
    return result(ip.getOption(fd, family, option));
}

/// Joins (`join` 1) or leaves (0) the multicast group `membership` (an `abi.Membership`) names.
pub export fn br_udp_membership(fd: i32, join: u32, membership: ?[*]u8, membership_len: usize) i32 {
    if (join > 1) return einval;
    return switch (one(abi.Membership, membership, membership_len)) {
        .value => |m| result(ip.membership(fd, join == 1, m)),
        .refused => |rc| rc,
    };
}

/// Sends the socket's multicast datagrams out of interface `index` (0: by route).
pub export fn br_udp_set_multicast_interface(fd: i32, family: u32, index: u32) i32 {
    return result(ip.setMulticastInterface(fd, family, index));
}

/// The index of the network interface whose name is the bytes of `name`; `-ENODEV` if none.
pub export fn br_interface_index(name: ?[*]u8, name_len: usize) i32 {
    const text = bytes(name, name_len) orelse return efault;
    const index = ip.interfaceIndex(text) catch |err| return negative(errno(err));
    return if (index > std.math.maxInt(i32)) negative(.NODEV) else @intCast(index);
}

/// Closes a descriptor. The binding passes only descriptors this library created (sockets); the
/// kernel checks the number, so a bad one is `-EBADF`.
pub export fn br_close(fd: i32) i32 {
    if (fd < 0) return negative(.BADF);
    return result(sys.close(fd));
}

/// Watches the signals in `mask` (bit `n` for signal `n`); returns the descriptor their numbers
/// can be read from, one byte each.
pub export fn br_signals_open(mask: u32) i32 {
    return result(signals.open(mask));
}

pub export fn br_signals_close(fd: i32) i32 {
    return result(signals.close(fd));
}

/// Reads from a descriptor (the binding reads only the signal descriptor); `-EAGAIN` if empty.
pub export fn br_read(fd: i32, buffer: ?[*]u8, buffer_len: usize) i32 {
    const out = bytes(buffer, buffer_len) orelse return efault;
    return result(sys.read(fd, out));
}

/// Starts injecting faults (a `-Dfault-injection` build): `rate_ppm` per million receive, send
/// and wait calls, chosen by `seed` (see `fault.zig`); rate 0 stops. `-ENOSYS` in a normal
/// build, which has no fault injection compiled in.
pub export fn br_fault_configure(seed: u64, rate_ppm: u32) i32 {
    if (!fault.enabled) return negative(.NOSYS);
    return result(fault.configure(seed, rate_ppm));
}

/// Makes every segmented send fail with EIO while `on` is 1, as a device without segmentation
/// offload does (a `-Dfault-injection` build; see `fault.refuseSegmented`); 0 stops it.
/// `-ENOSYS` in a normal build, `-EINVAL` for another value.
pub export fn br_fault_refuse_segmented(on: u32) i32 {
    if (!fault.enabled) return negative(.NOSYS);
    if (on > 1) return einval;
    fault.refuseSegmented(on == 1);
    return 0;
}

/// How many faults of kind `kind` (`fault.Fault`) were injected at `point` (`fault.Point`)
/// since `br_fault_configure`, saturated at the largest `i32`; `-EINVAL` for an unknown kind.
pub export fn br_fault_count(point: u32, kind: u32) i32 {
    if (!fault.enabled) return negative(.NOSYS);
    const at = std.enums.fromInt(fault.Point, point) orelse return einval;
    const what = std.enums.fromInt(fault.Fault, kind) orelse return einval;
    return @intCast(@min(fault.count(at, what), std.math.maxInt(i32)));
}
