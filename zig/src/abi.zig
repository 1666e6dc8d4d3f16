//! The structs and constants shared with TypeScript through the C ABI.
//!
//! Everything here is `extern` with a fixed layout, asserted below. `src/sys/abi.ts` mirrors
//! each size, offset and constant, and checks the two against each other when it loads the
//! library: sizes and offsets through `br_abi_layout`, and every integer constant of this file
//! (the `u32` and `u64` declarations and the `Option` numbers) through `br_abi_constants`,
//! which lists them all by name. `test/abi.test.ts` also fails if either side has a constant
//! the other lacks, so neither side can drift alone. The values are asserted below too, so a
//! change here is a deliberate one.

const std = @import("std");

/// What a registration asks the poller to report. Zero is rejected: an empty interest cannot
/// be expressed (`EINVAL`).
pub const interest_readable: u32 = 1 << 0;
pub const interest_writable: u32 = 1 << 1;
pub const interest_all: u32 = interest_readable | interest_writable;

/// What an event reports. Error and hang-up are reported as they are; the reactor treats them
/// as readiness in both directions so that the task trying I/O meets the error itself.
pub const event_readable: u32 = 1 << 0;
pub const event_writable: u32 = 1 << 1;
pub const event_error: u32 = 1 << 2;
pub const event_hangup: u32 = 1 << 3;

/// The token of the poller's own waker. A caller cannot register a descriptor under it.
pub const token_waker: u64 = std.math.maxInt(u64);

/// The most events one wait returns, and the most datagrams one batch moves.
pub const events_max: u32 = 1024;
pub const batch_max: u32 = 256;

/// Set in `Datagram.flags` when the datagram was larger than its slot: `len` bytes were kept
/// and the rest was discarded by the kernel.
pub const datagram_truncated: u32 = 1 << 0;

/// The most datagrams one segmented entry may carry: what every kernel since 4.18 sends in one
/// UDP_SEGMENT call (`UDP_MAX_SEGMENTS`; 6.9 raised it to 128) and what UDP_GRO coalesces
/// (`UDP_GRO_CNT_MAX`).
pub const segments_max: u32 = 64;

/// The slot size that holds any coalesced entry: the kernel coalesces at most 64 KiB.
pub const coalesced_max: u32 = 65535;

/// What kind of socket a descriptor is (`br_socket_kind`), asked before adopting one this
/// library did not open (a socket passed by a service manager): only a UDP socket can be served
/// as one. TCP and Unix sockets are named so that a refusal can say which was passed.
pub const socket_kind_udp: u32 = 0;
pub const socket_kind_tcp: u32 = 1;
pub const socket_kind_unix: u32 = 2;
pub const socket_kind_other: u32 = 3;

/// Socket options, named rather than passed as raw SOL_/SO_ pairs, whose numbers differ by OS.
pub const Option = enum(u32) {
    reuse_address = 1,
    reuse_port = 2,
    recv_buffer = 3,
    send_buffer = 4,
    ipv6_only = 5,
};

/// Options of the IP layer, whose level and name depend on the socket's family (IP_TTL or
/// IPV6_UNICAST_HOPS) and on the OS (IP_MTU_DISCOVER on Linux, IP_DONTFRAG on the BSDs): see
/// `ip.zig`. Booleans are 0 or 1. `path_mtu` can only be read (a connected socket, Linux).
pub const IpOption = enum(u32) {
    broadcast = 1,
    ttl = 2,
    tos = 3,
    multicast_ttl = 4,
    multicast_loop = 5,
    dont_fragment = 6,
    path_mtu = 7,
};

/// A multicast group to join or leave: `group` (its port is ignored) on interface `interface`
/// (an index; 0 lets the kernel choose by route), and, for a source-specific membership, the
/// one `source` to hear (family 0 for any source). Both addresses have the socket's family.
pub const Membership = extern struct {
    group: Address,
    source: Address,
    interface: u32,
    reserved: u32 = 0,
};

/// One error taken from a socket's error queue: where the datagram that met it was going, its
/// errno, and for `EMSGSIZE` the path MTU the kernel reported (0 otherwise).
pub const QueuedError = extern struct {
    address: Address,
    errno: u32,
    mtu: u32,
};

/// A poller is two descriptors owned by the caller: the epoll or kqueue descriptor, and the
/// eventfd behind the waker on Linux (`-1` on kqueue, whose waker is an EVFILT_USER filter).
pub const Poller = extern struct {
    fd: i32,
    waker_fd: i32,
};

pub const Event = extern struct {
    token: u64,
    flags: u32,
    reserved: u32 = 0,
};

/// An IP address and port, the same on every OS (unlike `sockaddr`, which has a length byte on
/// the BSDs). `family` is 4 or 6, `port` is in host byte order, and an IPv4 address uses the
/// first four bytes of `bytes`.
pub const Address = extern struct {
    family: u16,
    port: u16,
    scope_id: u32,
    bytes: [16]u8,
};

/// One entry of a batch: its length, its flags and the peer it came from or goes to. Its
/// payload is the slot of the same index in the batch's buffer.
///
/// With `segment_size` 0 the entry is one datagram. Otherwise it is several datagrams from or to
/// the same peer, coalesced by UDP_GRO on receive or to be cut by UDP_SEGMENT on send (see
/// `offload.zig`): `len / segment_size` datagrams of `segment_size` bytes, and one more of the
/// remainder if there is one.
pub const Datagram = extern struct {
    len: u32,
    flags: u16,
    segment_size: u16 = 0,
    address: Address,
};

/// What a datagram carries besides its payload and peer, in control messages (see
/// `datagram_info.zig`): one per batch entry, in an array of its own beside the entries, which
/// only the `*_info` calls read or write, so that a socket that does not ask for it pays nothing.
///
/// On receive, `flags` says which fields the kernel reported: `info_local` for the local address
/// the datagram was sent to (port 0) and the index of the interface it came in on (0 where the
/// OS does not say), `info_traffic_class` for its IPv4 TOS byte or IPv6 traffic class (DSCP in
/// the high six bits, the ECN codepoint in the low two). On send, the same bits ask for the
/// same things: send from `local` (the unspecified address lets the kernel choose) and with
/// `traffic_class`; `info_interface` (never set by a receive) sends through `interface`. So a
/// received entry's info sent back unchanged makes the reply go from the address the datagram
/// was sent to, by whichever route the kernel picks.
pub const DatagramInfo = extern struct {
    local: Address,
    interface: u32,
    traffic_class: u8,
    flags: u8,
    reserved: u16 = 0,
};

/// `DatagramInfo.flags`. The first two are also what `br_udp_set_datagram_info` asks the kernel
/// to report (`info_reported`); `info_interface` is for sends only.
pub const info_local: u32 = 1 << 0;
pub const info_traffic_class: u32 = 1 << 1;
pub const info_interface: u32 = 1 << 2;
/// Set by a receive on Linux beside `info_local` when the destination is not one of the host's
/// own addresses (a subnet or limited broadcast, or a multicast group: `in_pktinfo`'s
/// `ipi_spec_dst`, the address a reply goes from, then differs from the header's destination).
/// Such an address cannot be a source: a send of an info with it set leaves the source to the
/// kernel, so that a received entry sent back unchanged is answered from the interface's address.
pub const info_not_local: u32 = 1 << 3;
pub const info_reported: u32 = info_local | info_traffic_class;

/// The layout TypeScript checks against its own mirror, filled in by `br_abi_layout`.
pub const Layout = extern struct {
    poller_size: u32 = @sizeOf(Poller),
    event_size: u32 = @sizeOf(Event),
    event_token_offset: u32 = @offsetOf(Event, "token"),
    event_flags_offset: u32 = @offsetOf(Event, "flags"),
    address_size: u32 = @sizeOf(Address),
    address_family_offset: u32 = @offsetOf(Address, "family"),
    address_port_offset: u32 = @offsetOf(Address, "port"),
    address_scope_id_offset: u32 = @offsetOf(Address, "scope_id"),
    address_bytes_offset: u32 = @offsetOf(Address, "bytes"),
    datagram_size: u32 = @sizeOf(Datagram),
    datagram_len_offset: u32 = @offsetOf(Datagram, "len"),
    datagram_flags_offset: u32 = @offsetOf(Datagram, "flags"),
    datagram_address_offset: u32 = @offsetOf(Datagram, "address"),
    events_max: u32 = events_max,
    batch_max: u32 = batch_max,
    datagram_segment_size_offset: u32 = @offsetOf(Datagram, "segment_size"),
    segments_max: u32 = segments_max,
    coalesced_max: u32 = coalesced_max,
    datagram_info_size: u32 = @sizeOf(DatagramInfo),
    datagram_info_local_offset: u32 = @offsetOf(DatagramInfo, "local"),
    datagram_info_interface_offset: u32 = @offsetOf(DatagramInfo, "interface"),
    datagram_info_traffic_class_offset: u32 = @offsetOf(DatagramInfo, "traffic_class"),
    datagram_info_flags_offset: u32 = @offsetOf(DatagramInfo, "flags"),
    membership_size: u32 = @sizeOf(Membership),
    membership_group_offset: u32 = @offsetOf(Membership, "group"),
    membership_source_offset: u32 = @offsetOf(Membership, "source"),
    membership_interface_offset: u32 = @offsetOf(Membership, "interface"),
    queued_error_size: u32 = @sizeOf(QueuedError),
    queued_error_address_offset: u32 = @offsetOf(QueuedError, "address"),
    queued_error_errno_offset: u32 = @offsetOf(QueuedError, "errno"),
    queued_error_mtu_offset: u32 = @offsetOf(QueuedError, "mtu"),
};

/// Every integer constant of `Abi` (this file), one `name value` line each, options as
/// `option.name value` and `ip_option.name value`: what `br_abi_constants` hands to TypeScript.
pub fn constantsText(comptime Abi: type) []const u8 {
    comptime {
        var text: []const u8 = "";
        for (@typeInfo(Abi).@"struct".decl_names) |decl| {
            const T = @TypeOf(@field(Abi, decl));
            if (T != u32 and T != u64) continue;
            text = text ++ std.fmt.comptimePrint("{s} {d}\n", .{ decl, @field(Abi, decl) });
        }
        const options = @typeInfo(Option).@"enum";
        for (options.field_names, options.field_values) |option, value| {
            text = text ++ std.fmt.comptimePrint("option.{s} {d}\n", .{ option, value });
        }
        const ip_options = @typeInfo(IpOption).@"enum";
        for (ip_options.field_names, ip_options.field_values) |option, value| {
            text = text ++ std.fmt.comptimePrint("ip_option.{s} {d}\n", .{ option, value });
        }
        return text;
    }
}

comptime {
    std.debug.assert(interest_readable == 1 and interest_writable == 2 and interest_all == 3);
    std.debug.assert(event_readable == 1 and event_writable == 2 and event_error == 4 and event_hangup == 8);
    std.debug.assert(token_waker == 0xffff_ffff_ffff_ffff);
    std.debug.assert(datagram_truncated == 1);
    // The flags are a u16 beside the segment size, which a segmented send's u16 cmsg carries.
    std.debug.assert(datagram_truncated <= std.math.maxInt(u16));
    std.debug.assert(coalesced_max <= std.math.maxInt(u16) and segments_max == 64);
    std.debug.assert(events_max == 1024 and batch_max == 256);
    std.debug.assert(@backingInt(Option.reuse_address) == 1 and @backingInt(Option.reuse_port) == 2);
    std.debug.assert(@backingInt(Option.recv_buffer) == 3 and @backingInt(Option.send_buffer) == 4);
    std.debug.assert(@backingInt(Option.ipv6_only) == 5);
    std.debug.assert(@typeInfo(Option).@"enum".field_names.len == 5);
    std.debug.assert(@backingInt(IpOption.broadcast) == 1 and @backingInt(IpOption.path_mtu) == 7);
    std.debug.assert(@typeInfo(IpOption).@"enum".field_names.len == 7);
    // Flags are distinct bits, and the truncation flag fits the datagram's flags.
    std.debug.assert(interest_readable & interest_writable == 0);
    std.debug.assert(@popCount(event_readable | event_writable | event_error | event_hangup) == 4);
}

comptime {
    std.debug.assert(@sizeOf(Poller) == 8);
    std.debug.assert(@sizeOf(Event) == 16);
    std.debug.assert(@offsetOf(Event, "token") == 0);
    std.debug.assert(@offsetOf(Event, "flags") == 8);
    std.debug.assert(@sizeOf(Address) == 24);
    std.debug.assert(@offsetOf(Address, "family") == 0);
    std.debug.assert(@offsetOf(Address, "port") == 2);
    std.debug.assert(@offsetOf(Address, "scope_id") == 4);
    std.debug.assert(@offsetOf(Address, "bytes") == 8);
    std.debug.assert(@sizeOf(Datagram) == 32);
    std.debug.assert(@offsetOf(Datagram, "len") == 0);
    std.debug.assert(@offsetOf(Datagram, "flags") == 4);
    std.debug.assert(@offsetOf(Datagram, "segment_size") == 6);
    std.debug.assert(@offsetOf(Datagram, "address") == 8);
    std.debug.assert(@sizeOf(DatagramInfo) == 32);
    std.debug.assert(@offsetOf(DatagramInfo, "local") == 0);
    std.debug.assert(@offsetOf(DatagramInfo, "interface") == 24);
    std.debug.assert(@offsetOf(DatagramInfo, "traffic_class") == 28);
    std.debug.assert(@offsetOf(DatagramInfo, "flags") == 29);
    std.debug.assert(info_local == 1 and info_traffic_class == 2 and info_interface == 4 and info_reported == 3);
    std.debug.assert(info_not_local == 8);
    // The flags of a `DatagramInfo` are a u8.
    std.debug.assert(info_local | info_traffic_class | info_interface | info_not_local <= std.math.maxInt(u8));
    std.debug.assert(@sizeOf(Membership) == 56);
    std.debug.assert(@offsetOf(Membership, "group") == 0);
    std.debug.assert(@offsetOf(Membership, "source") == 24);
    std.debug.assert(@offsetOf(Membership, "interface") == 48);
    std.debug.assert(@sizeOf(QueuedError) == 32);
    std.debug.assert(@offsetOf(QueuedError, "address") == 0);
    std.debug.assert(@offsetOf(QueuedError, "errno") == 24);
    std.debug.assert(@offsetOf(QueuedError, "mtu") == 28);
    std.debug.assert(@sizeOf(Layout) == 31 * 4);
}
