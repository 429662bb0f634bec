#!/usr/bin/env python3
"""EMULATION of Netronome's virtio-relay for the lab (scenario 5, offload).

The real virtio-relay is a DPDK process: one end drives the VF (bound to
nfp_uio, so the kernel has no netdev for it), the other is the VM's vhost-user
backend; it forwards frames and nothing else, on one busy core. Here one end
is the parked VF's link (a raw AF_PACKET socket; the lab parks a VF bound to
nfp_uio outside the host) and the other QEMU's stream netdev, a unix socket
carrying each frame behind its 4-byte big-endian length.

Usage: relay.py --link IFNAME --socket PATH --pidfile PATH
Daemonises once both ends are open, writes its pid to PATH, exits on SIGTERM.
"""
import argparse
import os
import select
import signal
import socket
import struct
import sys

ETH_P_ALL = 0x0003
MAX_FRAME = 65536


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--link", required=True)
    p.add_argument("--socket", required=True)
    p.add_argument("--pidfile", required=True)
    a = p.parse_args()

    vf = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    vf.bind((a.link, 0))
    guest = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    guest.connect(a.socket)

    if os.fork() > 0:
        return 0
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    with open(a.pidfile + ".tmp", "w") as f:
        f.write(f"{os.getpid()}\n")
    os.rename(a.pidfile + ".tmp", a.pidfile)

    def stop(*_):
        try:
            os.unlink(a.pidfile)
        finally:
            os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    pending = b""
    while True:
        ready, _, _ = select.select([vf, guest], [], [])
        if vf in ready:
            frame, (_, _, pkttype, _, _) = vf.recvfrom(MAX_FRAME)
            if pkttype != socket.PACKET_OUTGOING:  # not what the host's own stack sends on the link
                guest.sendall(struct.pack(">I", len(frame)) + frame)
        if guest in ready:
            data = guest.recv(MAX_FRAME)
            if not data:
                stop()  # QEMU went away
            pending += data
            while len(pending) >= 4:
                (n,) = struct.unpack(">I", pending[:4])
                if len(pending) < 4 + n:
                    break
                vf.send(pending[4 : 4 + n])
                pending = pending[4 + n :]


if __name__ == "__main__":
    sys.exit(main())
