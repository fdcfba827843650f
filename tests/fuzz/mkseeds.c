/* SPDX-License-Identifier: MIT */
/*
 * Writes the binary seeds of the fuzz corpora (DNS answers, cache records) into the current
 * directory's <target>/ folders; the committed seeds came from it. Built by hand from a
 * configured tree:
 *   cc -Iinclude -include config.h tests/fuzz/mkseeds.c libcore.a -lidn2 -o mkseeds
 *   (cd tests/fuzz && ../../mkseeds)
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "cacherec.h"
#include "dane.h"
#include "dnsmsg.h"
#include "sharedrec.h"
#include "stspolicy.h"

/* The unit tests' packet builder; outside cmocka a plain assert guards the buffer. */
#define assert_true(c) assert(c)
#include "../unit/dnspkt.h"

/* Header (AD set, as a validating resolver answers) and the question. */
static void
start(struct pkt *k, unsigned rcode, unsigned an, unsigned ns, const char *q, unsigned qtype)
{
	k->n = 0;
	put16(k, 0x4242);
	put16(k, 0x81a0 | rcode);
	put16(k, 1);
	put16(k, an);
	put16(k, ns);
	put16(k, 0);
	put_name(k, q);
	put16(k, qtype);
	put16(k, 1);
}

static void
rr(struct pkt *k, const char *owner, unsigned type, const void *rd, size_t rdlen)
{
	if (owner)
		put_name(k, owner);
	else
		put16(k, 0xc00c); /* the question's name */
	put16(k, type);
	put16(k, 1);
	put16(k, 0);
	put16(k, 3600);
	put16(k, (unsigned)rdlen);
	put(k, rd, rdlen);
}

static void
save(const char *dir, const char *name, const void *p, size_t n, int flag)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!(f = fopen(path, "wb"))) {
		perror(path);
		return;
	}
	if (flag >= 0)
		fputc(flag, f); /* fuzz_dane: the destination byte (AD trusted) */
	fwrite(p, 1, n, f);
	fclose(f);
}

/* One DNS seed for fuzz_dnsmsg, fuzz_checkrule and fuzz_dane. */
static void
dns(const char *name, const struct pkt *k)
{
	save("dnsmsg", name, k->b, k->n, -1);
	save("checkrule", name, k->b, k->n, -1);
	save("dane", name, k->b, k->n, 2);
}

int
main(void)
{
	struct pkt k, rd;
	static struct cacherec c;
	static struct danerec d;
	static struct stspolicy pol;
	uint8_t enc[CACHEREC_MAX_BYTES];
	size_t len;
	static const char txt[] = "\x1fv=STSv1; id=20240101000000Z;";
	static const char rpt[] = "\x25v=TLSRPTv1; rua=mailto:tls@example.com";
	static const uint8_t tlsa[] = {3,  1,  1,  0xde, 0xad, 0xbe, 0xef, 1,  2,  3,  4,  5,
	                               6,  7,  8,  9,    10,   11,   12,   13, 14, 15, 16, 17,
	                               18, 19, 20, 21,   22,   23,   24,   25, 26, 27, 28};
	static const uint8_t soa[] = {2, 'n', 's', 0, 4, 'h', 'o', 's', 't', 0, 0, 0, 0, 1, 0,
	                              0, 1,   0,   0, 0, 1,   0,   0,   0,   1, 0, 0, 0, 0, 60};

	/* MX of example.com: two hosts, one compressed */
	start(&k, 0, 2, 0, "example.com", DNSMSG_MX);
	rd.n = 0;
	put16(&rd, 10);
	put_name(&rd, "mx.example.com");
	rr(&k, NULL, DNSMSG_MX, rd.b, rd.n);
	rd.n = 0;
	put16(&rd, 20);
	put(&rd, "\x03mx2\xc0\x0c", 6);
	rr(&k, NULL, DNSMSG_MX, rd.b, rd.n);
	dns("mx", &k);
	/* null MX */
	start(&k, 0, 1, 0, "example.com", DNSMSG_MX);
	rr(&k, NULL, DNSMSG_MX, "\0\0\0", 3);
	dns("null-mx", &k);
	/* TXT at _mta-sts and at _smtp._tls, in two strings */
	start(&k, 0, 1, 0, "_mta-sts.example.com", DNSMSG_TXT);
	rr(&k, NULL, DNSMSG_TXT, txt, sizeof(txt) - 1);
	dns("txt-sts", &k);
	start(&k, 0, 1, 0, "_smtp._tls.example.com", DNSMSG_TXT);
	rr(&k, NULL, DNSMSG_TXT, rpt, sizeof(rpt) - 1);
	dns("txt-tlsrpt", &k);
	/* A, AAAA and TLSA of the MX host, the address behind a CNAME */
	start(&k, 0, 2, 0, "mx.example.com", DNSMSG_A);
	rr(&k, NULL, DNSMSG_CNAME, "\x04host\xc0\x0f", 7);
	rr(&k, "host.example.com", DNSMSG_A, "\xc0\x00\x02\x01", 4);
	dns("a-cname", &k);
	start(&k, 0, 1, 0, "mx.example.com", DNSMSG_AAAA);
	rr(&k, NULL, DNSMSG_AAAA, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\1", 16);
	dns("aaaa", &k);
	start(&k, 0, 1, 0, "_25._tcp.mx.example.com", DNSMSG_TLSA);
	rr(&k, NULL, DNSMSG_TLSA, tlsa, sizeof(tlsa));
	dns("tlsa", &k);
	/* NXDOMAIN with an SOA, and SERVFAIL */
	start(&k, 3, 0, 1, "example.com", DNSMSG_MX);
	rr(&k, "com", DNSMSG_SOA, soa, sizeof(soa));
	dns("nxdomain", &k);
	start(&k, 2, 0, 0, "example.com", DNSMSG_MX);
	dns("servfail", &k);

	/* cache records: nothing known, an enforce policy, a failed fetch remembered */
	cacherec_init(&c);
	if (cacherec_encode(&c, enc, sizeof(enc), &len) == CACHEREC_OK)
		save("cacherec", "empty", enc, len, -1);
	static const char body[] = "version: STSv1\nmode: enforce\nmx: mx.example.com\n"
	                           "mx: *.example.net\nmax_age: 86400\n";
	if (stspolicy_parse(body, sizeof(body) - 1, &pol) == STSPOLICY_OK) {
		cacherec_on_fetch_ok(&c, &pol, "20240101000000Z", 1700000000);
		c.queried = 1700000100;
		c.due = 1700040000;
		if (cacherec_encode(&c, enc, sizeof(enc), &len) == CACHEREC_OK)
			save("cacherec", "enforce", enc, len, -1);
		/* the same policy as the fleet's shared cache holds it */
		if (sharedrec_encode("example.com", &c, enc, sizeof(enc), &len) == SHAREDREC_OK)
			save("sharedrec", "enforce", enc, len, -1);
		cacherec_on_fetch_fail(&c, "20250101000000Z", 1700000200, 600);
		cacherec_on_txt_fail(&c, 1700000300, 600);
		if (cacherec_encode(&c, enc, sizeof(enc), &len) == CACHEREC_OK)
			save("cacherec", "failed", enc, len, -1);
	}
	cacherec_init(&c);
	cacherec_on_no_policy(&c, 1700000000, 3600);
	if (cacherec_encode(&c, enc, sizeof(enc), &len) == CACHEREC_OK)
		save("cacherec", "no-policy", enc, len, -1);

	/* DNS state records: DANE for all hosts, insecure, a failed MX lookup */
	memset(&d, 0, sizeof(d));
	d.state = DANE_ALL;
	d.expires = 1700003600;
	d.trust_ad = 1;
	d.mx_known = 1;
	d.n_hosts = 2;
	d.n_tlsa = 2;
	strcpy(d.hosts[0], "mx.example.com");
	strcpy(d.hosts[1], "mx2.example.com");
	strcpy(d.why, "every MX host has usable TLSA");
	if (danerec_encode(&d, enc, sizeof(enc), &len) == DANEREC_OK)
		save("danerec", "all", enc, len, -1);
	(void)dane_static("mx.example.com", 1, 0, 1700000000, &d);
	if (danerec_encode(&d, enc, sizeof(enc), &len) == DANEREC_OK)
		save("danerec", "insecure", enc, len, -1);
	memset(&d, 0, sizeof(d));
	d.state = DANE_ERROR;
	d.expires = 1700000060;
	d.trust_ad = 1;
	strcpy(d.why, "MX lookup failed: SERVFAIL");
	if (danerec_encode(&d, enc, sizeof(enc), &len) == DANEREC_OK)
		save("danerec", "error", enc, len, -1);
	return 0;
}
