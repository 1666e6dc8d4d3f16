/**
 * A UDP socket's own figures as Prometheus metrics: what the kernel dropped before the program
 * could receive it, and the buffer sizes it gave the socket. Read from the socket when asked,
 * on the thread that owns it.
 *
 * @module
 */
import { formatSocketAddress, type UdpSocket } from "../index.ts";
import { checkMetricName, type Labels, type MetricFamily } from "./exposition.ts";

/**
 * The figures of `socket` now, labelled `socket="ADDRESS:PORT"` and `labels`. The kernel-drop
 * counter is left out where the OS keeps no such count (macOS, FreeBSD); it wraps at 2^31, which
 * Prometheus' `rate()` reads as a counter reset.
 *
 * @example
 * ```ts
 * using socket = UdpSocket.bind("127.0.0.1:0");
 * formatExposition(socketMetrics(socket)); // bun_reactor_socket_kernel_dropped_datagrams_total{socket="127.0.0.1:…"} 0 …
 * ```
 */
export function socketMetrics(socket: UdpSocket, labels: Labels = {}): MetricFamily[] {
  const series = { socket: formatSocketAddress(socket.localAddress), ...labels };
  checkMetricName("bun_reactor_socket", series);
  const families: MetricFamily[] = [];
  const drops = socket.kernelDrops();
  if (drops !== null) {
    families.push({
      name: "bun_reactor_socket_kernel_dropped_datagrams_total",
      help: "Datagrams the kernel dropped on their way to the socket, its receive buffer full (modulo 2^31).",
      type: "counter",
      samples: [{ suffix: "", labels: series, value: drops }],
    });
  }
  families.push(
    {
      name: "bun_reactor_socket_receive_buffer_bytes",
      help: "The socket's receive buffer, as the kernel reports it (Linux counts its bookkeeping, doubling it).",
      type: "gauge",
      samples: [{ suffix: "", labels: series, value: socket.option("recvBuffer") }],
    },
    {
      name: "bun_reactor_socket_send_buffer_bytes",
      help: "The socket's send buffer, as the kernel reports it.",
      type: "gauge",
      samples: [{ suffix: "", labels: series, value: socket.option("sendBuffer") }],
    },
  );
  return families;
}
