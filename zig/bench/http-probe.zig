//! The fairness benchmark's HTTP client: one request at a time on one keep-alive connection,
//! `GET PATH` for SECONDS, each timed from the first byte written to the last byte of the body
//! read. One thread that blocks in `read`, so that the figures are the server's latency and not
//! the client's own handoffs between threads (a JavaScript client waits for its event loop and
//! its HTTP thread in turn, each a wakeup on a loaded core).
//!
//! Usage: http-probe HOST PORT PATH SECONDS (HOST 127.0.0.1-style IPv4 or ::1)
//!
//! Prints one JSON object: `{"requests":…,"failed":…,"perSec":…,"p50":…,"p99":…,"max":…}`,
//! latencies in milliseconds (null when no request succeeded). A response that is not 200, a
//! connection the server closed, or one silent for 5 s counts as failed; the probe then
//! reconnects.
const std = @import("std");
const linux = std.os.linux;
const cli = @import("cli.zig");
const tool = cli.Tool("http-probe");
const die = tool.die;
const print = tool.print;
const nowNs = cli.nowNs;

/// Most samples kept: far more than a run of seconds makes at one request at a time.
const samples_max = 1 << 20;
/// How long one read may wait before the request counts as failed.
const read_timeout_s = 5;
/// Room for a response's headers and body (`/stats` is a few hundred bytes).
const response_max = 64 * 1024;

var samples: [samples_max]u64 = undefined;
var response: [response_max]u8 = undefined;

/// A connected, blocking TCP socket with Nagle off and a read timeout; null if the connect failed.
fn connect(to: cli.Target) ?i32 {
    const rc = linux.socket(to.family, linux.SOCK.STREAM | linux.SOCK.CLOEXEC, 0);
    if (linux.errno(rc) != .SUCCESS) die("socket: {t}", .{linux.errno(rc)});
    const fd: i32 = @intCast(rc);
    const on: c_int = 1;
    _ = linux.setsockopt(fd, linux.IPPROTO.TCP, linux.TCP.NODELAY, std.mem.asBytes(&on), @sizeOf(c_int));
    const timeout = linux.timeval{ .sec = read_timeout_s, .usec = 0 };
    _ = linux.setsockopt(fd, linux.SOL.SOCKET, linux.SO.RCVTIMEO, std.mem.asBytes(&timeout), @sizeOf(linux.timeval));
    if (linux.errno(linux.connect(fd, &to.storage, to.len)) != .SUCCESS) {
        _ = linux.close(fd);
        return null;
    }
    return fd;
}

fn writeAll(fd: i32, bytes: []const u8) bool {
    var sent: usize = 0;
    while (sent < bytes.len) {
        const rc = linux.write(fd, bytes[sent..].ptr, bytes.len - sent);
        if (linux.errno(rc) == .INTR) continue;
        if (linux.errno(rc) != .SUCCESS or rc == 0) return false;
        sent += rc;
    }
    return true;
}

/// The value of header `name` (case-insensitive) in `head`, if present.
fn header(head: []const u8, name: []const u8) ?[]const u8 {
    var lines = std.mem.splitSequence(u8, head, "\r\n");
    _ = lines.next(); // the status line
    while (lines.next()) |line| {
        const colon = std.mem.indexOfScalar(u8, line, ':') orelse continue;
        if (std.ascii.eqlIgnoreCase(line[0..colon], name)) return std.mem.trim(u8, line[colon + 1 ..], " \t");
    }
    return null;
}

const Outcome = enum { ok, not_ok, broken };

/// Reads one whole response (headers, then Content-Length bytes of body).
fn readResponse(fd: i32) Outcome {
    var filled: usize = 0;
    var head_end: ?usize = null;
    var total: usize = 0;
    while (head_end == null or filled < total) {
        if (filled == response.len) die("a response is larger than {d} bytes", .{response.len});
        const rc = linux.read(fd, response[filled..].ptr, response.len - filled);
        if (linux.errno(rc) == .INTR) continue;
        if (linux.errno(rc) != .SUCCESS or rc == 0) return .broken; // closed, reset or timed out
        filled += rc;
        if (head_end == null) {
            const end = std.mem.indexOf(u8, response[0..filled], "\r\n\r\n") orelse continue;
            head_end = end + 4;
            const length_text = header(response[0..end], "content-length") orelse
                die("a response without Content-Length (chunked bodies are not read)", .{});
            const length = std.fmt.parseInt(usize, length_text, 10) catch die("Content-Length {s} is not a number", .{length_text});
            total = end + 4 + length;
        }
    }
    if (filled != total) die("the server sent {d} bytes more than the response", .{filled - total});
    return if (std.mem.startsWith(u8, response[0..filled], "HTTP/1.1 200 ")) .ok else .not_ok;
}

fn number(comptime T: type, text: ?[]const u8, what: []const u8) T {
    const value = text orelse die("usage: http-probe HOST PORT PATH SECONDS (missing {s})", .{what});
    if (T == f64) return std.fmt.parseFloat(f64, value) catch die("{s} {s} is not a number", .{ what, value });
    return std.fmt.parseInt(T, value, 10) catch die("{s} {s} is not a number", .{ what, value });
}

pub fn main(init: std.process.Init.Minimal) void {
    var args = init.args.iterate();
    _ = args.skip();
    const host = args.next() orelse die("usage: http-probe HOST PORT PATH SECONDS", .{});
    const port = number(u16, args.next(), "PORT");
    const path = args.next() orelse die("usage: http-probe HOST PORT PATH SECONDS (missing PATH)", .{});
    const seconds = number(f64, args.next(), "SECONDS");
    if (!(seconds > 0)) die("SECONDS {d} is not a positive number", .{seconds});
    if (path.len == 0 or path[0] != '/') die("PATH {s} does not start with /", .{path});
    const to = tool.target(host, port);
    var request_buffer: [1024]u8 = undefined;
    const request = std.fmt.bufPrint(&request_buffer, "GET {s} HTTP/1.1\r\nHost: {s}:{d}\r\n\r\n", .{ path, host, port }) catch
        die("PATH {s} is too long", .{path});

    const started = nowNs();
    const deadline = started + @as(u64, @intFromFloat(seconds * std.time.ns_per_s));
    var count: usize = 0;
    var failed: u64 = 0;
    var fd: ?i32 = null;
    while (nowNs() < deadline and count < samples_max) {
        const socket = fd orelse connect(to) orelse {
            // A refused or dead server: count it, and do not spin on it.
            failed += 1;
            var pause = linux.timespec{ .sec = 0, .nsec = 10 * std.time.ns_per_ms };
            _ = linux.nanosleep(&pause, null);
            continue;
        };
        fd = socket;
        const sent_at = nowNs();
        const outcome: Outcome = if (writeAll(socket, request)) readResponse(socket) else .broken;
        switch (outcome) {
            .ok => {
                samples[count] = nowNs() - sent_at;
                count += 1;
            },
            .not_ok => failed += 1,
            .broken => {
                failed += 1;
                _ = linux.close(socket);
                fd = null;
            },
        }
    }
    const elapsed_s = @as(f64, @floatFromInt(nowNs() - started)) / std.time.ns_per_s;
    if (fd) |socket| _ = linux.close(socket);
    std.mem.sortUnstable(u64, samples[0..count], {}, std.sort.asc(u64));
    const rate = @as(f64, @floatFromInt(count)) / elapsed_s;
    if (count == 0) {
        print("{{\"requests\":0,\"failed\":{d},\"perSec\":0,\"p50\":null,\"p99\":null,\"max\":null}}\n", .{failed});
        return;
    }
    print("{{\"requests\":{d},\"failed\":{d},\"perSec\":{d:.1},\"p50\":{d:.4},\"p99\":{d:.4},\"max\":{d:.4}}}\n", .{
        count, failed, rate, ms(samples[0..count], 0.5), ms(samples[0..count], 0.99), ms(samples[0..count], 1.0),
    });
}

/// The latency at `fraction` of the sorted samples, in milliseconds (as bench/http-probe.ts
/// computed it: the sample at floor(fraction × count)).
fn ms(sorted: []const u64, fraction: f64) f64 {
    const at: usize = @min(sorted.len - 1, @as(usize, @intFromFloat(@floor(fraction * @as(f64, @floatFromInt(sorted.len))))));
    return @as(f64, @floatFromInt(sorted[at])) / std.time.ns_per_ms;
}
