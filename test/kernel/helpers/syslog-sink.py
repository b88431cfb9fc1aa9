#!/usr/bin/python3
# A stand-in for rsyslog, for daemons that log through syslog(3): it gives a command a /dev/log of its
# own and writes what arrives there to a file, as Debian's rsyslog writes /var/log/auth.log.
#   python3 syslog-sink.py OUT_FILE HOSTNAME -- COMMAND ARGS...
# It first moves into a mount namespace of its own (unshare(2), mounts private), mounts a tmpfs over /dev there,
# makes null, zero, full, random, urandom and tty in it and binds the /dev/log socket, so nothing reaches
# the host's /dev/log or journal. Each datagram ("<PRI>Mon DD HH:MM:SS tag[pid]: message") becomes one
# line "Mon DD HH:MM:SS HOSTNAME tag[pid]: message", control characters written as #ooo (rsyslog's
# EscapeControlCharactersOnReceive, on by default). It prints "ready" once /dev/log is bound, starts the
# command (killed with this process: PR_SET_PDEATHSIG), and exits when the command does or on SIGTERM.
# Python, not Node: Node has no Unix datagram sockets; python3 is on every machine with fail2ban.
import ctypes
import os
import re
import select
import signal
import socket
import stat
import subprocess
import sys

DEVICES = {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8), "urandom": (1, 9), "tty": (5, 0)}
DATAGRAM = re.compile(rb"<(\d{1,3})>([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) (.*)", re.S)


def escape(data: bytes) -> bytes:
    # rsyslog drops one trailing newline, then escapes every other control character.
    if data.endswith(b"\n"):
        data = data[:-1]
    return re.sub(rb"[\x00-\x1f\x7f]", lambda m: b"#%03o" % m.group(0)[0], data)


def main() -> int:
    if len(sys.argv) < 5 or sys.argv[3] != "--":
        sys.stderr.write("usage: syslog-sink.py OUT_FILE HOSTNAME -- COMMAND ARGS...\n")
        return 64
    out_path, hostname, command = sys.argv[1], sys.argv[2].encode(), sys.argv[4:]
    libc = ctypes.CDLL(None, use_errno=True)
    # A mount namespace of its own first (CLONE_NEWNS), its mounts private: what follows is seen here only.
    if libc.unshare(0x00020000) != 0:
        sys.stderr.write(f"syslog-sink: unshare(CLONE_NEWNS): {os.strerror(ctypes.get_errno())}\n")
        return 71
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=755,size=1m", "xtban-dev", "/dev"], check=True)
    for name, (major, minor) in DEVICES.items():
        os.mknod(f"/dev/{name}", 0o666 | stat.S_IFCHR, os.makedev(major, minor))
        os.chmod(f"/dev/{name}", 0o666)
    os.symlink("/proc/self/fd", "/dev/fd")
    sink = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sink.bind("/dev/log")
    os.chmod("/dev/log", 0o666)

    def die_with_parent() -> None:
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    with open(out_path, "ab", buffering=0) as out:
        child = subprocess.Popen(command, preexec_fn=die_with_parent)
        print("ready", flush=True)
        while not stopping and child.poll() is None:
            readable, _, _ = select.select([sink], [], [], 0.2)
            while readable:
                data = sink.recv(65536)
                m = DATAGRAM.fullmatch(data)
                out.write((m.group(2) + b" " + hostname + b" " + escape(m.group(3)) if m else escape(data)) + b"\n")
                readable, _, _ = select.select([sink], [], [], 0)
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(5)
            except subprocess.TimeoutExpired:
                child.kill()
    return child.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
