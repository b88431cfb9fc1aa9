#!/usr/bin/env python3
"""Sends one TCP SYN from each source address read on stdin (one a line, IPv4 or IPv6), to DEST:PORT,
as Ethernet frames on IFACE to the MAC address DEST_MAC: the packets of many clients from one network
namespace, with no address configured for them (the firewall under test never answers them: their
sources lie off its link). Prints the number of frames sent. Bounded by its input; nothing is received.

usage: spoof-syn.py IFACE DEST_MAC DEST4 DEST6 PORT < sources
"""
import ipaddress
import socket
import struct
import sys


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def tcp_syn(source: bytes, dest: bytes, source_port: int, port: int, pseudo_tail: bytes) -> bytes:
    header = struct.pack("!HHIIBBHHH", source_port, port, 1, 0, 5 << 4, 0x02, 64240, 0, 0)
    pseudo = source + dest + pseudo_tail
    value = checksum(pseudo + header)
    return header[:16] + struct.pack("!H", value) + header[18:]


def frame(source_text: str, dest4: bytes, dest6: bytes, port: int, dest_mac: bytes, own_mac: bytes, index: int) -> bytes:
    source = ipaddress.ip_address(source_text)
    source_port = 1024 + index % 60000
    if source.version == 4:
        tcp = tcp_syn(source.packed, dest4, source_port, port, struct.pack("!BBH", 0, socket.IPPROTO_TCP, 20))
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), index & 0xFFFF, 0, 64, socket.IPPROTO_TCP, 0, source.packed, dest4)
        ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
        return dest_mac + own_mac + b"\x08\x00" + ip + tcp
    tcp = tcp_syn(source.packed, dest6, source_port, port, struct.pack("!I3xB", 20, socket.IPPROTO_TCP))
    ip = struct.pack("!IHBB16s16s", 6 << 28, len(tcp), socket.IPPROTO_TCP, 64, source.packed, dest6)
    return dest_mac + own_mac + b"\x86\xdd" + ip + tcp


def main() -> None:
    iface, dest_mac_text, dest4_text, dest6_text, port_text = sys.argv[1:6]
    dest_mac = bytes.fromhex(dest_mac_text.replace(":", ""))
    with open(f"/sys/class/net/{iface}/address") as handle:
        own_mac = bytes.fromhex(handle.read().strip().replace(":", ""))
    dest4 = ipaddress.IPv4Address(dest4_text).packed
    dest6 = ipaddress.IPv6Address(dest6_text).packed
    port = int(port_text)
    sender = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sender.bind((iface, 0))
    sent = 0
    for index, line in enumerate(sys.stdin):
        text = line.strip()
        if not text:
            continue
        sender.send(frame(text, dest4, dest6, port, dest_mac, own_mac, index))
        sent += 1
    print(sent)


main()
