# A stand-in for the host's syslog socket: binds an AF_UNIX datagram socket at argv[1] (a daemon's
# /dev/log, through isolate.mjs) and appends every datagram, exactly as received, to argv[2] as one
# JSON line {"us": microseconds since the epoch, "bytes": [byte values]}. Prints "ready" once bound.
# Node has no AF_UNIX datagram sockets, hence Python.
import json
import os
import socket
import sys
import time

path, out = sys.argv[1], sys.argv[2]
try:
    os.unlink(path)
except FileNotFoundError:
    pass
receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
receiver.bind(path)
# Daemons that drop root (postfix, dovecot's workers, vsftpd's session) must be able to send.
os.chmod(path, 0o666)
print("ready", flush=True)
with open(out, "a", encoding="ascii") as log:
    while True:
        data = receiver.recv(1 << 16)
        log.write(json.dumps({"us": time.time_ns() // 1000, "bytes": list(data)}) + "\n")
        log.flush()
