/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_DNSMSG_H
#define MTASTSD_DNSMSG_H

#include <stddef.h>
#include <stdint.h>

#include "dname.h"

#define DNSMSG_MAX 65535         /**< largest DNS message */
#define DNSMSG_RR_MAX 512        /**< our cap on resource records examined per message */
#define DNSMSG_JUMPS_MAX 64      /**< our cap on compression pointers followed per name */
#define DNSMSG_TLSA_DATA_MAX 512 /**< our cap on TLSA association data */
#define DNSMSG_CNAME_MAX 8       /**< CNAME links followed inside one answer */
#define DNSMSG_NEG_TTL 60        /**< negative answer without SOA: kept this long (RFC 2308 s5) */

/** RR types used by mta-stsd. */
enum dnsmsg_type {
	DNSMSG_A = 1,
	DNSMSG_CNAME = 5,
	DNSMSG_SOA = 6,
	DNSMSG_MX = 15,
	DNSMSG_TXT = 16,
	DNSMSG_AAAA = 28,
	DNSMSG_OPT = 41,
	DNSMSG_TLSA = 52,
};

/** Reader results. */
enum dnsmsg_err {
	DNSMSG_OK = 0,
	DNSMSG_END,        /**< iteration: no more records */
	DNSMSG_TRUNCATED,  /**< the message ends inside a field */
	DNSMSG_BAD_HEADER, /**< not a response, or an opcode other than QUERY */
	DNSMSG_BAD_NAME,   /**< compression loop, forward pointer, label or name too long */
	DNSMSG_TOO_MANY,   /**< more records than DNSMSG_RR_MAX */
	DNSMSG_BAD_RDATA,  /**< record data does not fit its type */
	DNSMSG_NO_SPACE,   /**< output buffer too small (query builder) */
};

/** A parsed message header; the bytes stay borrowed from the caller. */
struct dnsmsg {
	const uint8_t *p;   /**< message (borrowed) */
	size_t len;         /**< length */
	uint16_t id;        /**< query id */
	unsigned rcode;     /**< response code (0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, ...) */
	int ad;             /**< AD bit: validated by the (trusted) resolver */
	int tc;             /**< TC bit */
	unsigned counts[4]; /**< QD, AN, NS, AR counts */
	size_t rr_start;    /**< offset of the first answer record */
};

/** Sections of a message. */
enum dnsmsg_section { DNSMSG_SEC_AN = 1, DNSMSG_SEC_NS = 2, DNSMSG_SEC_AR = 3 };

/** One resource record; rdata stays inside the message. */
struct dnsmsg_rr {
	char owner[DNAME_MAX + 2];   /**< owner name, lower case, no trailing dot ("" for root) */
	enum dnsmsg_section section; /**< where it was found */
	uint16_t type;               /**< RR type */
	uint16_t rclass;             /**< class */
	uint32_t ttl;                /**< TTL */
	size_t rdoff;                /**< offset of rdata in the message */
	uint16_t rdlen;              /**< rdata length */
};

/** Iterator over the records of all sections. */
struct dnsmsg_iter {
	size_t off;     /**< next record offset */
	unsigned index; /**< records read so far */
};

/**
 * Parse the header and skip the question section.
 * @param p message @param len length @param m result (borrows p)
 * @return DNSMSG_OK or the reason the message is unusable
 */
enum dnsmsg_err dnsmsg_parse(const uint8_t *p, size_t len, struct dnsmsg *m);

/** Start iterating. @param m message @param it caller storage */
void dnsmsg_iter_init(const struct dnsmsg *m, struct dnsmsg_iter *it);

/**
 * Read the next record (answer, authority, then additional section).
 * @return DNSMSG_OK with rr filled, DNSMSG_END, or an error (stop iterating)
 */
enum dnsmsg_err dnsmsg_next(const struct dnsmsg *m, struct dnsmsg_iter *it, struct dnsmsg_rr *rr);

/**
 * Decode a (possibly compressed) name at off, lower-cased, without trailing dot.
 * @param m message @param off offset @param out name ("" for the root)
 * @param end offset just after the name in place (may be NULL)
 * @return DNSMSG_OK, DNSMSG_TRUNCATED or DNSMSG_BAD_NAME
 */
enum dnsmsg_err dnsmsg_name(const struct dnsmsg *m, size_t off, char out[DNAME_MAX + 2],
                            size_t *end);

/** MX rdata. @param m message @param rr record @param pref preference @param host exchange */
enum dnsmsg_err dnsmsg_rr_mx(const struct dnsmsg *m, const struct dnsmsg_rr *rr, uint16_t *pref,
                             char host[DNAME_MAX + 2]);
/** CNAME rdata. @param m message @param rr record @param target canonical name */
enum dnsmsg_err dnsmsg_rr_cname(const struct dnsmsg *m, const struct dnsmsg_rr *rr,
                                char target[DNAME_MAX + 2]);
/** SOA minimum field (RFC 2308 negative TTL). @param m message @param rr record @param minimum
 * result */
enum dnsmsg_err dnsmsg_rr_soa_minimum(const struct dnsmsg *m, const struct dnsmsg_rr *rr,
                                      uint32_t *minimum);

/**
 * TXT rdata: the character-strings of one record concatenated (RFC 1035 s3.3.14; RFC 8461
 * s3.1 joins them). They must fill the rdata exactly. At most outsz bytes are copied: callers
 * size out one byte over their own cap, so that a longer record is still seen as too long.
 * @param m message @param rr record @param out bytes (not NUL-terminated) @param outsz size
 * @param outlen bytes copied
 */
enum dnsmsg_err dnsmsg_rr_txt(const struct dnsmsg *m, const struct dnsmsg_rr *rr, char *out,
                              size_t outsz, size_t *outlen);

/** How a response answers its question (RFC 1034 s4.3.2, RFC 2308). */
enum dnsmsg_ans {
	DNSMSG_ANS_DATA = 0, /**< records of the type at the end of the CNAME chain */
	DNSMSG_ANS_NODATA,   /**< the name exists without records of the type */
	DNSMSG_ANS_NXDOMAIN, /**< the name does not exist */
	DNSMSG_ANS_FAIL,     /**< no usable answer: SERVFAIL, REFUSED, TC, malformed, long chain */
};

/** A response read for one question; the message stays borrowed. */
struct dnsmsg_answer {
	struct dnsmsg m;           /**< parsed header (borrows the bytes) */
	char final[DNAME_MAX + 2]; /**< owner at the end of the CNAME chain (the qname if none) */
	uint32_t ttl;              /**< DATA: least TTL of the chain and the data; otherwise the
	                                negative TTL min(SOA TTL, SOA MINIMUM), DNSMSG_NEG_TTL
	                                without SOA (and least with the chain's) */
	unsigned n;                /**< DATA: records of the type at final */
	const char *why;           /**< FAIL: static reason */
};

/**
 * Classify the response to (qname, qtype, class IN): follow the CNAME chain inside the answer
 * section (at most DNSMSG_CNAME_MAX links), count the records of qtype at its end, take TTLs.
 * Rcodes other than NOERROR and NXDOMAIN, the TC bit, and any malformed record are FAIL.
 * Whether to trust out->m.ad is the caller's decision.
 * @param msg response @param len length @param qname question name, no trailing dot
 * @param qtype type asked (CNAME: the chain is not followed) @param out result
 * @return the class of the answer
 */
enum dnsmsg_ans dnsmsg_answer(const uint8_t *msg, size_t len, const char *qname, uint16_t qtype,
                              struct dnsmsg_answer *out);

/**
 * @param a classified answer @param rr a record of its message @param type type
 * @return 1 if rr belongs to the answer RRset of (a->final, type), class IN
 */
int dnsmsg_answer_has(const struct dnsmsg_answer *a, const struct dnsmsg_rr *rr, uint16_t type);

/** TLSA rdata (RFC 6698). */
struct dnsmsg_tlsa {
	uint8_t usage;       /**< certificate usage */
	uint8_t selector;    /**< selector */
	uint8_t mtype;       /**< matching type */
	const uint8_t *data; /**< association data (borrowed from the message) */
	size_t len;          /**< its length */
};

/** TLSA rdata. @param m message @param rr record @param out result */
enum dnsmsg_err dnsmsg_rr_tlsa(const struct dnsmsg *m, const struct dnsmsg_rr *rr,
                               struct dnsmsg_tlsa *out);

/**
 * Whether a TLSA record can be used for SMTP DANE (RFC 7672 s3.1): usage DANE-TA(2) or
 * DANE-EE(3), selector 0 or 1, matching type 0 (full data, non-empty and bounded), 1 (32 bytes)
 * or 2 (64 bytes).
 * @param t record @return 1 usable, 0 not
 */
int dnsmsg_tlsa_usable(const struct dnsmsg_tlsa *t);

/**
 * Build a query for (name, type, class IN) with RD and AD set (RFC 6840 s5.7: ask for the AD
 * bit) and an EDNS0 OPT record advertising udp_size.
 * @param name query name (no trailing dot) @param type RR type @param id query id
 * @param udp_size EDNS0 payload size @param out buffer @param outsz its size @param outlen length
 * @return DNSMSG_OK, DNSMSG_BAD_NAME or DNSMSG_NO_SPACE
 */
enum dnsmsg_err dnsmsg_query(const char *name, uint16_t type, uint16_t id, uint16_t udp_size,
                             uint8_t *out, size_t outsz, size_t *outlen);

/** @param err code @return static text */
const char *dnsmsg_strerror(enum dnsmsg_err err);

#endif
