// The forms a daemon's syslog messages take once a syslog daemon has them: the datagram glibc's
// syslog(3) sends ("<PRI>Mmm dd hh:mm:ss IDENT[PID]: MESSAGE", or with a HOSTNAME before IDENT as
// nginx's own syslog client sends it), the line rsyslog writes to a file
// (its traditional format, control characters as #ooo), and the entry journald keeps (the fields
// `journalctl -o json` prints). Kernel tests render what a daemon really sent; unit tests wrap the
// messages of a daemon's own file the same way.

// One syslog message as sent: its priority, the sender's timestamp, identifier, pid and text.
export interface SyslogMessage {
  // When it was received, microseconds since the epoch.
  us: number;
  facility: number;
  severity: number;
  // "Dec  3 06:14:01", as the sender wrote it.
  timestamp: string;
  // The host name, when the sender wrote one (nginx does, syslog(3) does not).
  host?: string;
  identifier: string;
  pid?: number;
  message: string;
}

// A host name holds no ':' or '[', so "IDENT[PID]: " and "IDENT: " are never read as one.
const DATAGRAM = /^<(\d{1,3})>([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) (?:([^\s[:]+) )?([^\s[:]+)(?:\[(\d+)\])?: ([\s\S]*)$/;

// Reads one datagram as syslog(3) writes it; undefined for anything else.
export function parseDatagram(bytes: Buffer, us: number): SyslogMessage | undefined {
  const m = DATAGRAM.exec(bytes.toString('utf8'));
  if (!m) return undefined;
  const priority = Number(m[1]);
  return {
    us,
    facility: priority >> 3,
    severity: priority & 7,
    timestamp: m[2] ?? '',
    ...(m[3] === undefined ? {} : { host: m[3] }),
    identifier: m[4] ?? '',
    ...(m[5] === undefined ? {} : { pid: Number(m[5]) }),
    // rsyslog and journald both drop one trailing newline.
    message: (m[6] ?? '').replace(/\n$/, ''),
  };
}

// The line rsyslog writes for it (RSYSLOG_TraditionalFileFormat with its default escaping of control
// characters on receipt: a newline becomes #012), with the sender's host name when it wrote one.
export function rsyslogLine(message: SyslogMessage, host = 'mail'): string {
  const escaped = message.message.replace(/[\x00-\x1f\x7f]/g, (c) => `#${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return `${message.timestamp} ${message.host ?? host} ${message.identifier}${message.pid === undefined ? '' : `[${message.pid}]`}: ${escaped}`;
}

// The entry journald keeps for it, as one `journalctl -o json` line. journalctl prints a field with
// control characters other than a newline or a tab as an array of bytes.
export function journalLine(message: SyslogMessage): string {
  const binary = /[\x00-\x08\x0b-\x1f\x7f]/.test(message.message);
  return JSON.stringify({
    __REALTIME_TIMESTAMP: String(message.us),
    PRIORITY: String(message.severity),
    SYSLOG_FACILITY: String(message.facility),
    SYSLOG_IDENTIFIER: message.identifier,
    ...(message.pid === undefined ? {} : { SYSLOG_PID: String(message.pid) }),
    SYSLOG_TIMESTAMP: `${message.timestamp} `,
    MESSAGE: binary ? [...Buffer.from(message.message, 'utf8')] : message.message,
  });
}

// A message of a daemon's own file, as its syslog form would carry it: for unit tests, which wrap the
// captured messages in the forms the daemon's syslog lines take.
export function asSyslog(message: string, identifier: string, options: { timeMs: number; pid?: number; facility?: number; severity?: number }): SyslogMessage {
  const date = new Date(options.timeMs);
  const month = date.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const day = String(date.getUTCDate()).padStart(2, ' ');
  const time = date.toISOString().slice(11, 19);
  return {
    us: options.timeMs * 1000,
    facility: options.facility ?? 2,
    severity: options.severity ?? 6,
    timestamp: `${month} ${day} ${time}`,
    identifier,
    ...(options.pid === undefined ? {} : { pid: options.pid }),
    message,
  };
}
