//! The library's Zig API, for Zig programs built beside it (the benchmark's load generator and
//! reference server). The C ABI for TypeScript is `root.zig`.

pub const abi = @import("abi.zig");
pub const sys = @import("sys.zig");
pub const poller = @import("poller.zig");
pub const udp = @import("udp.zig");
