//! What the benchmark's load tools (`loadgen`, `http-probe`) share: their one-line errors and
//! output, the monotonic clock, and the server's address as they take it on the command line.
const std = @import("std");
const linux = std.os.linux;

/// A socket address for `connect` (IPv4 or IPv6), as the command line gave it.
pub const Target = struct { family: u32, storage: [28]u8, len: u32 };

/// Nanoseconds of the monotonic clock.
pub fn nowNs() u64 {
    var now: linux.timespec = undefined;
    _ = linux.clock_gettime(.MONOTONIC, &now);
    return @as(u64, @intCast(now.sec)) * std.time.ns_per_s + @as(u64, @intCast(now.nsec));
}

/// The helpers of the tool called `name`, whose errors start with that name.
pub fn Tool(comptime name: []const u8) type {
    return struct {
        /// Writes `name: message` on stderr and exits with status 2 (bad input or a failed call).
        pub fn die(comptime format: []const u8, args: anytype) noreturn {
            var buffer: [512]u8 = undefined;
            const line = std.fmt.bufPrint(&buffer, name ++ ": " ++ format ++ "\n", args) catch name ++ ": error\n";
            _ = linux.write(2, line.ptr, line.len);
            linux.exit_group(2);
        }

        /// Writes one formatted line (or part of one) on stdout.
        pub fn print(comptime format: []const u8, args: anytype) void {
            var buffer: [1024]u8 = undefined;
            const line = std.fmt.bufPrint(&buffer, format, args) catch die("output too long", .{});
            _ = linux.write(1, line.ptr, line.len);
        }

        /// `host` (a dotted IPv4 address, or ::1) and `port` as a socket address; dies on any other host.
        pub fn target(host: []const u8, port: u16) Target {
            if (std.mem.eql(u8, host, "::1")) {
                var in6 = std.mem.zeroes(linux.sockaddr.in6);
                in6.family = linux.AF.INET6;
                in6.port = std.mem.nativeToBig(u16, port);
                in6.addr[15] = 1;
                return .{ .family = linux.AF.INET6, .storage = std.mem.toBytes(in6), .len = @sizeOf(linux.sockaddr.in6) };
            }
            var octets: [4]u8 = undefined;
            var parts = std.mem.splitScalar(u8, host, '.');
            for (&octets) |*octet| {
                const part = parts.next() orelse die("HOST {s} is not an IPv4 address or ::1", .{host});
                octet.* = std.fmt.parseInt(u8, part, 10) catch die("HOST {s} is not an IPv4 address or ::1", .{host});
            }
            if (parts.next() != null) die("HOST {s} is not an IPv4 address or ::1", .{host});
            const in4 = linux.sockaddr.in{ .port = std.mem.nativeToBig(u16, port), .addr = @bitCast(octets) };
            var storage = std.mem.zeroes([28]u8);
            @memcpy(storage[0..@sizeOf(linux.sockaddr.in)], std.mem.asBytes(&in4));
            return .{ .family = linux.AF.INET, .storage = storage, .len = @sizeOf(linux.sockaddr.in) };
        }
    };
}
