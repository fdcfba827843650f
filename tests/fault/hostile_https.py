#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# hostile_https.py - policy hosts that misbehave on purpose, for tests/fault/30-http-abuse.sh.
#
#   hostile_https.py PIDFILE MODE=IP:CERTFILE:KEYFILE ...
#
# One TLS listener on IP:443 per argument; after the handshake and the request head, each
# connection gets the behaviour of its MODE:
#   trickle   200, Content-Length 4096, then the body one byte every 500 ms
#   endless   200, no length (ends at close), a policy then 'x' without end
#   biglen    200, Content-Length: 100000000, then bytes without end
#   headers   a status line, then header lines without end
#   longline  a status line, then one header line that never ends
#   continue  interim "100 Continue" responses without end, never a final one
#   hold      nothing at all after the handshake (the connection is held open)
#   http09    a policy with no status line (HTTP/0.9 style), then close
#   good      200 text/plain, an enforce policy for mx mail.<domain> (used with a 50-cert chain)
# Every bad policy names mx evil.invalid, so an answer that believed one is easy to see.
# Loopback only: the test's namespace gives it no other address. Every connection ends after
# at most CONN_MAX_S seconds or when the peer goes away; the process ends when killed.
import os
import socket
import ssl
import sys
import threading
import time

CONN_MAX_S = 60
EVIL = b"version: STSv1\nmode: enforce\nmx: evil.invalid\nmax_age: 86400\n"


def read_head(c):
    """The request head (bounded); the Host header's domain without mta-sts., or ''."""
    buf = b""
    while b"\r\n\r\n" not in buf and len(buf) < 8192:
        d = c.recv(1024)
        if not d:
            break
        buf += d
    for line in buf.split(b"\r\n"):
        if line.lower().startswith(b"host:"):
            h = line[5:].strip().decode("ascii", "replace")
            return h[len("mta-sts."):] if h.startswith("mta-sts.") else h
    return ""


def serve(mode, c):
    end = time.monotonic() + CONN_MAX_S
    domain = read_head(c)
    if mode == "hold":
        while time.monotonic() < end:
            c.settimeout(1)
            try:
                if not c.recv(1):
                    return
            except socket.timeout:
                pass
        return
    if mode == "http09":
        c.sendall(EVIL)
        return
    if mode == "good":
        body = ("version: STSv1\nmode: enforce\nmx: mail.%s\nmax_age: 86400\n" % domain).encode()
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                  b"Connection: close\r\n\r\n" % len(body) + body)
        return
    if mode == "trickle":
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 4096\r\n"
                  b"Connection: close\r\n\r\n")
        body = EVIL + b"x" * 4096
        for i in range(4096):
            if time.monotonic() > end:
                return
            c.sendall(body[i:i + 1])
            time.sleep(0.5)
        return
    if mode == "endless":
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n" +
                  EVIL)
        chunk = b"x" * 16384
    elif mode == "biglen":
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                  b"Content-Length: 100000000\r\n\r\n" + EVIL)
        chunk = b"x" * 16384
    elif mode == "headers":
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n")
        chunk = b"X-Junk: " + b"a" * 1000 + b"\r\n"
    elif mode == "continue":
        chunk = b"HTTP/1.1 100 Continue\r\nX-Pad: " + b"a" * 200 + b"\r\n\r\n"
    elif mode == "longline":
        c.sendall(b"HTTP/1.1 200 OK\r\nX-Long: ")
        chunk = b"a" * 16384
    else:
        return
    while time.monotonic() < end:
        c.sendall(chunk)


def conn(mode, ctx, s):
    try:
        s.settimeout(10)
        c = ctx.wrap_socket(s, server_side=True)
        c.settimeout(10)
        serve(mode, c)
        c.close()
    except (OSError, ssl.SSLError):
        pass
    finally:
        s.close()


def listen(mode, ip, cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((ip, 443))
    ls.listen(64)
    return ls, ctx


def accept_loop(mode, ls, ctx):
    while True:
        s, _ = ls.accept()
        threading.Thread(target=conn, args=(mode, ctx, s), daemon=True).start()


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: hostile_https.py PIDFILE MODE=IP:CERT:KEY ...")
    loops = []
    for a in sys.argv[2:]:
        mode, rest = a.split("=", 1)
        ip, cert, key = rest.split(":")
        loops.append((mode,) + listen(mode, ip, cert, key))
    # every socket listens: tell the test
    with open(sys.argv[1], "w") as f:
        f.write("%d\n" % os.getpid())
    for mode, ls, ctx in loops:
        threading.Thread(target=accept_loop, args=(mode, ls, ctx), daemon=True).start()
    while True:
        time.sleep(3600)


main()
