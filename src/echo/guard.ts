/**
 * The reflection guard: an echo server answers whoever the source address says sent the
 * datagram, and source addresses can be forged. Forged as another UDP service, a datagram
 * would start an endless loop between two servers (echo 7 ↔ chargen 19 is the classic), or
 * turn the echo into a reflector aimed at a victim's service. So by default the server never
 * sends to port 0 and refuses to answer the well-known ports of such services.
 *
 * @module
 */

/**
 * Ports that are never answered: services that answer any datagram (and so could loop with
 * us) or that amplify, and ports commonly abused for reflection.
 */
export const REFUSED_PORTS: readonly number[] = [
  0, // not a real source: never send there
  7, // echo
  9, // discard
  13, // daytime
  17, // qotd
  19, // chargen
  37, // time
  53, // DNS
  69, // TFTP
  111, // portmap / rpcbind
  123, // NTP
  137, // NetBIOS name service
  161, // SNMP
  162, // SNMP traps
  389, // CLDAP
  500, // IKE
  520, // RIP
  623, // IPMI
  1434, // MS SQL browser
  1900, // SSDP
  3283, // Apple Remote Desktop
  3702, // WS-Discovery
  5353, // mDNS
  5683, // CoAP
  11211, // memcached
];

/** Decides, by the peer's port, whether a reply may be sent. */
export class ReflectionGuard {
  readonly #refused = new Uint8Array(65536);

  constructor(ports: readonly number[] = REFUSED_PORTS) {
    for (const port of ports) this.#refused[port] = 1;
  }

  /** Whether a datagram from `port` must not be echoed. */
  refuses(port: number): boolean {
    return this.#refused[port] === 1;
  }
}
