#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# hostile_dns.py - a DNS responder (UDP and TCP) that answers mta-stsd directly, for
# tests/fault/31-dns-abuse.sh.
#
#   hostile_dns.py PIDFILE IP CTLDIR WEBIP GOOD_DOMAIN,...
#
# The good domains get honest answers: TXT _mta-sts.D "v=STSv1; id=1;", A mta-sts.D WEBIP,
# MX D -> mail.D, NODATA (with an SOA) for anything else below D. A file CTLDIR/D naming a
# mode turns D hostile from then on. Any other name <mode>[-N].test gets the mode's answer;
# mx-<mode>[-N].test and a-<mode>[-N].test get it only for their MX question and for the
# address of their policy host, honest answers otherwise:
#   tc        UDP: TC bit, no records; TCP: length prefix for the whole answer, half of it, close
#   tchold    UDP: TC bit; TCP: the connection is accepted and never answered
#   badcount  ANCOUNT 20, no records present
#   pastend   a TXT record whose RDLENGTH runs 2000 bytes past the end
#   ptrloop   the answer's owner name is a compression pointer to itself
#   ptrpair   two compression pointers pointing at each other (the second one forwards)
#   txt1000   1000 TXT records, one of them a valid STSv1 record (over TCP: it is 40 KB)
#   cname50   a chain of 50 CNAMEs ending in a valid STSv1 TXT record
#   cnameloop a CNAME to a name whose CNAME points back
#   wrongid   a valid STSv1 answer with another message id
#   wrongq    a valid STSv1 answer to another question
#   noq       a valid STSv1 answer with no question section
#   empty     a UDP datagram of 0 bytes (TCP: closed at once)
#   garbage   7 random bytes
#   bigtxt    one TXT record of 60000 bytes in 255-byte strings (over TCP)
#   bigudp    the 1000 records of txt1000 in one 40 KB datagram, no TC bit (the client's
#             buffer cuts it); over TCP too
#   many      400 records (under the reader's cap of 512): 399 junk TXT then a valid one,
#             400 MX hosts no policy allows, or 400 addresses where nothing listens
# An answer over 512 bytes (or the query's EDNS size) goes over UDP truncated, as a server
# should. slowudp[-N].test and slowtcp[-N].test get honest answers SLOW_S seconds late,
# slowtcp's over TCP after a truncated UDP answer. Loopback only: the test's namespace gives it no other address.
import os
import socket
import struct
import sys
import threading
import time

HOSTILE = {"tc", "tchold", "badcount", "pastend", "ptrloop", "ptrpair", "txt1000", "cname50",
           "cnameloop", "wrongid", "wrongq", "noq", "empty", "garbage", "bigtxt", "many",
           "bigudp"}
T_A, T_CNAME, T_SOA, T_MX, T_TXT, T_OPT = 1, 5, 6, 15, 16, 41
STS = b"v=STSv1; id=1;"
SLOW_S = 1.2  # under the test's dns_timeout of 2 s, over the first try's share of it


def enc_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def parse_query(q):
    """(id, flags, qname, qtype, question bytes, udp size) or None."""
    if len(q) < 17:
        return None
    qid, flags, qd = struct.unpack("!HHH", q[:6])
    if qd != 1:
        return None
    off, labels = 12, []
    while off < len(q) and q[off] != 0:
        n = q[off]
        labels.append(q[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    off += 1
    if off + 4 > len(q):
        return None
    qtype = struct.unpack("!H", q[off:off + 2])[0]
    question = q[12:off + 4]
    udp = 512
    if struct.unpack("!H", q[10:12])[0] >= 1 and len(q) >= off + 4 + 11:
        opt = q[off + 4:]
        if opt[0] == 0 and struct.unpack("!H", opt[1:3])[0] == T_OPT:
            udp = max(512, struct.unpack("!H", opt[3:5])[0])
    return qid, flags, ".".join(labels).lower(), qtype, question, udp


def rr(owner, rtype, rdata, ttl=300):
    o = b"\xc0\x0c" if owner is None else enc_name(owner)
    return o + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


def txt_rdata(s):
    out = b""
    while True:
        out += bytes([min(len(s), 255)]) + s[:255]
        s = s[255:]
        if not s:
            return out


def msg(qid, rd, question, answers=(), auth=(), rcode=0, tc=False, an=None):
    flags = 0x8400 | (rd & 0x0100) | 0x0080 | rcode | (0x0200 if tc else 0)
    ancount = len(answers) if an is None else an
    return (struct.pack("!HHHHHH", qid, flags, 1 if question else 0, ancount, len(auth), 0) +
            question + b"".join(answers) + b"".join(auth))


def soa(zone):
    rdata = enc_name("ns." + zone) + enc_name("hostmaster." + zone) + struct.pack(
        "!IIIII", 1, 3600, 600, 86400, 60)
    return rr(zone, T_SOA, rdata, 60)


def good_answer(qid, rd, question, qname, qtype, domain, webip):
    if qname == "_mta-sts." + domain and qtype == T_TXT:
        return msg(qid, rd, question, [rr(None, T_TXT, txt_rdata(STS))])
    if qname == "mta-sts." + domain and qtype == T_A:
        return msg(qid, rd, question, [rr(None, T_A, socket.inet_aton(webip))])
    if qname == domain and qtype == T_MX:
        return msg(qid, rd, question, [rr(None, T_MX, struct.pack("!H", 10) +
                                          enc_name("mail." + domain))])
    return msg(qid, rd, question, auth=[soa(domain)])


def hostile_answer(mode, qid, rd, question, qname, qtype):
    """The mode's answer as bytes; None: no answer at all."""
    # what the answer would carry if it were believed: an STSv1 record, an MX host no policy
    # allows, an address where nothing listens
    if qtype == T_MX:
        vtype, vdata = T_MX, struct.pack("!H", 10) + enc_name("evil.invalid")
    elif qtype == T_A:
        vtype, vdata = T_A, socket.inet_aton("127.1.0.1")
    else:
        vtype, vdata = T_TXT, txt_rdata(STS)
    valid = [rr(None, vtype, vdata)]
    if mode in ("tc", "tchold"):
        return msg(qid, rd, question, tc=True)
    if mode == "badcount":
        return msg(qid, rd, question, an=20)
    if mode == "pastend":
        return msg(qid, rd, question, an=1) + b"\xc0\x0c" + struct.pack(
            "!HHIH", vtype, 1, 300, 2000) + vdata
    if mode == "ptrloop":
        at = 12 + len(question)
        return msg(qid, rd, question, an=1) + struct.pack("!H", 0xc000 | at) + struct.pack(
            "!HHIH", vtype, 1, 300, len(vdata)) + vdata
    if mode == "ptrpair":
        # owner -> a pointer inside the rdata (forwards), which points back at the owner
        at = 12 + len(question)
        rdata = b"\x02ok" + struct.pack("!H", 0xc000 | at)
        return msg(qid, rd, question, an=1) + struct.pack("!H", 0xc000 | (at + 10 + 3)) + \
            struct.pack("!HHIH", T_CNAME, 1, 300, len(rdata)) + rdata
    if mode in ("txt1000", "bigudp"):
        if qtype == T_A:  # 999 addresses where nothing listens, then one more
            recs = [rr(None, T_A, bytes([127, 1, i >> 8, i & 255])) for i in range(2, 1001)]
        else:
            recs = [rr(None, T_TXT, txt_rdata(b"junk record number %04d" % i))
                    for i in range(999)]
        return msg(qid, rd, question, recs[:500] + valid + recs[500:])
    if mode == "many":  # 400 records of the type asked for, under the reader's record cap
        if qtype == T_MX:
            recs = [rr(None, T_MX, struct.pack("!H", i) + enc_name("evil-%d.invalid" % i))
                    for i in range(400)]
        elif qtype == T_A:
            recs = [rr(None, T_A, bytes([127, 1, 1, i % 250 + 2])) for i in range(400)]
        else:
            recs = [rr(None, T_TXT, txt_rdata(b"junk record number %04d" % i))
                    for i in range(399)] + valid
        return msg(qid, rd, question, recs)
    if mode == "cname50":
        recs, prev = [], None
        for i in range(1, 51):
            target = "c%d.%s" % (i, qname)
            recs.append(rr(prev, T_CNAME, enc_name(target)))
            prev = target
        return msg(qid, rd, question, recs + [rr(prev, vtype, vdata)])
    if mode == "cnameloop":
        other = "loop." + qname
        return msg(qid, rd, question, [rr(None, T_CNAME, enc_name(other)),
                                       rr(other, T_CNAME, enc_name(qname))])
    if mode == "wrongid":
        return msg(qid ^ 0x5a5a, rd, question, valid)
    if mode == "wrongq":
        other = enc_name("_mta-sts.other.test") + question[-4:]
        return msg(qid, rd, other, [rr("_mta-sts.other.test", vtype, vdata)])
    if mode == "noq":
        return msg(qid, rd, b"", [rr(qname, vtype, vdata)])
    if mode == "empty":
        return b""
    if mode == "garbage":
        return os.urandom(7)
    if mode == "bigtxt":
        return msg(qid, rd, question, [rr(None, T_TXT, txt_rdata(b"v=STSv1; id=1;" +
                                                                 b"x" * 60000))])
    return None


class Server:
    def __init__(self, ctl, webip, good):
        self.ctl, self.webip, self.good = ctl, webip, good

    def mode_of(self, qname, qtype):
        """(mode, good domain or None) for this question."""
        for d in self.good:
            if qname == d or qname.endswith("." + d):
                try:
                    with open(os.path.join(self.ctl, d)) as f:
                        return f.read().strip(), d
                except OSError:
                    return "good", d
        labels = qname.split(".")
        if len(labels) < 2 or labels[-1] != "test":
            return "refused", None
        d = ".".join(labels[-2:])
        words = labels[-2].split("-")
        # <mode>[-N].test: every question hostile; mx-<mode>[-N].test: only its MX;
        # a-<mode>[-N].test: only the address of its policy host
        if words[0] in HOSTILE:
            return words[0], None
        if words[0] in ("slowudp", "slowtcp"):
            return words[0], d
        if len(words) > 1 and words[1] in HOSTILE:
            if words[0] == "mx" and qname == d and qtype == T_MX:
                return words[1], None
            if words[0] == "a" and qname == "mta-sts." + d and qtype == T_A:
                return words[1], None
            if words[0] in ("mx", "a"):
                return "good", d
        return "refused", None

    def answer(self, q):
        p = parse_query(q)
        if p is None:
            return None, None
        qid, flags, qname, qtype, question, udp = p
        rd = flags & 0x0100
        mode, domain = self.mode_of(qname, qtype)
        if mode in ("good", "slowudp", "slowtcp"):
            return mode, (good_answer(qid, rd, question, qname, qtype, domain, self.webip), udp)
        if mode == "refused":
            return mode, (msg(qid, rd, question, rcode=5), udp)
        return mode, (hostile_answer(mode, qid, rd, question, qname, qtype), udp)

    def udp_loop(self, s):
        while True:
            q, peer = s.recvfrom(4096)
            mode, a = self.answer(q)
            if a is None or a[0] is None:
                continue
            data, udp = a
            if mode == "slowudp":
                threading.Timer(SLOW_S, s.sendto, (data, peer)).start()
                continue
            if (len(data) > udp or mode == "slowtcp") and mode not in ("garbage", "bigudp"):
                # honest truncation: header and question only, TC set
                data = data[:2] + bytes([data[2] | 0x02, data[3]]) + data[4:6] + \
                    b"\0\0\0\0\0\0" + q[12:12 + len(parse_query(q)[4])]
            s.sendto(data, peer)

    def tcp_conn(self, c):
        try:
            c.settimeout(10)
            hdr = c.recv(2)
            if len(hdr) < 2:
                return
            n = struct.unpack("!H", hdr)[0]
            q = b""
            while len(q) < n:
                d = c.recv(n - len(q))
                if not d:
                    return
                q += d
            mode, a = self.answer(q)
            if mode == "tchold":
                end = time.monotonic() + 60
                c.settimeout(1)
                while time.monotonic() < end:
                    try:
                        if not c.recv(1):
                            return
                    except socket.timeout:
                        pass
                return
            if a is None or a[0] is None or mode == "empty":
                return
            data = a[0]
            if mode in ("slowudp", "slowtcp"):
                time.sleep(SLOW_S)
            if mode == "tc":
                # the whole answer announced, half of it sent, then the connection is cut
                full = msg(struct.unpack("!H", q[:2])[0], 0, parse_query(q)[4],
                           [rr(None, T_TXT, txt_rdata(STS))] * 4)
                c.sendall(struct.pack("!H", len(full)) + full[:len(full) // 2])
                return
            c.sendall(struct.pack("!H", len(data)) + data)
        except OSError:
            pass
        finally:
            c.close()

    def tcp_loop(self, ls):
        while True:
            c, _ = ls.accept()
            threading.Thread(target=self.tcp_conn, args=(c,), daemon=True).start()


def main():
    if len(sys.argv) != 6:
        sys.exit("usage: hostile_dns.py PIDFILE IP CTLDIR WEBIP GOOD_DOMAIN,...")
    pidfile, ip, ctl, webip, good = sys.argv[1:]
    srv = Server(ctl, webip, [d for d in good.split(",") if d])
    us = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    us.bind((ip, 53))
    ts = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ts.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ts.bind((ip, 53))
    ts.listen(64)
    with open(pidfile, "w") as f:
        f.write("%d\n" % os.getpid())
    threading.Thread(target=srv.udp_loop, args=(us,), daemon=True).start()
    threading.Thread(target=srv.tcp_loop, args=(ts,), daemon=True).start()
    while True:
        time.sleep(3600)


main()
