import { XtbanError } from '../core/errors.js';

// "127.0.0.1:9789", "[::1]:9789", "0.0.0.0:9789": a host (an IP address) and a port.
export function parseListenAddress(input: string, where = 'metrics'): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3})):(\d{1,5})$/.exec(input);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (
    !match ||
    host === undefined ||
    port < 1 ||
    port > 65_535 ||
    (host.includes(':') ? !/^[0-9a-fA-F:]+$/.test(host) : host.split('.').some((octet) => Number(octet) > 255))
  ) {
    throw new XtbanError(`${where}: ${JSON.stringify(input)} is not HOST:PORT`, {
      hint: 'for example 127.0.0.1:9789 or [::1]:9789 (an IP address, not a name)',
    });
  }
  return { host, port };
}
