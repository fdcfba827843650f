/* SPDX-License-Identifier: MIT */
/*
 * decide: the decision table of design.md, (MTA-STS state x DANE state x zone) -> answer.
 * Pure (P): no I/O, no clock (now is a parameter), no globals beyond the constant table.
 * Implements RFC 8461 s5 (enforce / testing / none), s5.1 (a valid unexpired cached policy is
 * applied whatever DNS and HTTPS say now; an expired one never is), and RFC 8461 s2: MTA-STS
 * never overrides a failing DANE validation, hence dane-only / TEMP in the enforce row.
 * Rows: enforce, testing, none (no TXT, expired, mode none), fetch failed with nothing cached,
 * TXT lookup failed with nothing cached. Columns: DANE ALL, SOME, NONE, INSECURE, ERROR.
 * Zone mx_check (RFC 8461 s4.1, one label per "*"): SEC lists only names the policy allows
 * exactly (allowed resolved MX hosts, or its literal names when the MX set is unknown), and
 * is TEMP when none is left: it fails closed, never widening a pattern to Postfix's ".suffix".
 * The reply text is rendered by answer.c; cache updates live in cacherec.c.
 */
#include "decide.h"

#include <stddef.h>
#include <string.h>

#include "xalloc.h"

enum decide_row {
	ROW_ENFORCE = 0,
	ROW_TESTING,
	ROW_NONE,
	ROW_FETCH_FAILED,
	ROW_TXT_FAILED,
	ROW_COUNT,
};

enum decide_col {
	COL_ALL = 0,
	COL_SOME,
	COL_NONE,
	COL_INSECURE,
	COL_ERROR,
	COL_COUNT,
};

enum decide_act {
	ACT_SEC = 0,   /* secure match=<policy patterns> servername=hostname */
	ACT_DANE_ONLY, /* dane-only */
	ACT_DANE,      /* dane: Postfix does its own TLSA lookups per MX host */
	ACT_FB,        /* the zone's fallback */
	ACT_TEMP,      /* defer */
};

struct decide_cell {
	enum decide_act act;
	const char *why;
};

/* design.md decision table, cell by cell. */
static const struct decide_cell decide_table[ROW_COUNT][COL_COUNT] = {
    [ROW_ENFORCE] =
        {
            [COL_ALL] = {ACT_DANE_ONLY, "enforced MTA-STS policy, all MX hosts DANE: dane-only"},
            /* RFC 8461 s2: DANE wins where it exists; zone dane_partial = dane answers "dane". */
            [COL_SOME] = {ACT_DANE_ONLY, "enforced MTA-STS policy, some MX hosts DANE: dane-only"},
            [COL_NONE] = {ACT_SEC, "enforced MTA-STS policy"},
            [COL_INSECURE] = {ACT_SEC, "enforced MTA-STS policy"},
            [COL_ERROR] = {ACT_TEMP, "DANE validation error under enforce"},
        },
    [ROW_TESTING] =
        {
            [COL_ALL] = {ACT_DANE, "testing policy, DANE published: dane"},
            [COL_SOME] = {ACT_DANE, "testing policy, DANE on some MX hosts: dane"},
            [COL_NONE] = {ACT_FB, "testing policy: fallback"},
            [COL_INSECURE] = {ACT_FB, "testing policy: fallback"},
            [COL_ERROR] = {ACT_DANE, "testing policy, DANE lookup error: dane"},
        },
    [ROW_NONE] =
        {
            [COL_ALL] = {ACT_DANE, "no MTA-STS policy, DANE published: dane"},
            [COL_SOME] = {ACT_DANE, "no MTA-STS policy, DANE on some MX hosts: dane"},
            [COL_NONE] = {ACT_FB, "no MTA-STS policy"},
            [COL_INSECURE] = {ACT_FB, "no MTA-STS policy"},
            [COL_ERROR] = {ACT_DANE, "no MTA-STS policy, DANE lookup error: dane"},
        },
    [ROW_FETCH_FAILED] =
        {
            [COL_ALL] = {ACT_DANE, "policy fetch failed, nothing cached: dane"},
            [COL_SOME] = {ACT_DANE, "policy fetch failed, nothing cached: dane"},
            [COL_NONE] = {ACT_FB, "policy fetch failed, nothing cached: fallback"},
            [COL_INSECURE] = {ACT_FB, "policy fetch failed, nothing cached: fallback"},
            [COL_ERROR] = {ACT_DANE,
                           "policy fetch failed, nothing cached, DANE lookup error: dane"},
        },
    [ROW_TXT_FAILED] =
        {
            [COL_ALL] = {ACT_DANE, "TXT lookup failed, nothing cached: dane"},
            [COL_SOME] = {ACT_DANE, "TXT lookup failed, nothing cached: dane"},
            [COL_NONE] = {ACT_FB, "TXT lookup failed, nothing cached: fallback"},
            [COL_INSECURE] = {ACT_FB, "TXT lookup failed, nothing cached: fallback"},
            /* Neither MTA-STS nor DANE established: a temp failure is never "no policy". */
            [COL_ERROR] = {ACT_TEMP, "TXT lookup and DANE lookup failed, nothing cached"},
        },
};

static enum decide_col
decide_col(enum dane_state dane)
{
	switch (dane) {
	case DANE_ALL:
		return COL_ALL;
	case DANE_SOME:
		return COL_SOME;
	case DANE_NONE:
		return COL_NONE;
	case DANE_INSECURE:
		return COL_INSECURE;
	case DANE_ERROR:
		return COL_ERROR;
	}
	/* Out-of-range input: treat as a DANE error, the state that never weakens delivery. */
	return COL_ERROR;
}

static void
decide_fallback(const struct cfg_zone *zone, struct answer *out)
{
	switch (zone->fallback) {
	case CFG_FALLBACK_MAY:
		out->kind = ANSWER_OK;
		out->level = ANSWER_LEVEL_MAY;
		return;
	case CFG_FALLBACK_ENCRYPT:
		out->kind = ANSWER_OK;
		out->level = ANSWER_LEVEL_ENCRYPT;
		return;
	case CFG_FALLBACK_DANE:
		out->kind = ANSWER_OK;
		out->level = ANSWER_LEVEL_DANE;
		return;
	case CFG_FALLBACK_NOTFOUND:
		break;
	}
	out->kind = ANSWER_NOTFOUND;
}

/* mx_check: the names Postfix may verify, each one the policy allows exactly. RFC 8461 s4.1
 * is applied here (one label for "*."), because Postfix's match=.example.com accepts any depth
 * and Postfix <= 3.9 never checks the MX name itself. With the MX set known, those are its
 * hosts that the policy allows; a host it does not allow is left out, so Postfix cannot verify
 * it. With the MX set unknown, the policy's literal names (allowed by definition); a wildcard
 * is never widened. Returns 0 with out->why set when no name is left: the caller defers, since
 * any broader list could let Postfix verify a host the policy excludes. */
static int
decide_exact(const struct stspolicy *pol, const struct danerec *dns, struct answer *out)
{
	if (dns != NULL && dns->mx_known) {
		for (unsigned h = 0; h < dns->n_hosts && h < DANE_HOSTS_MAX; h++) {
			for (unsigned i = 0; i < pol->n_mx; i++) {
				if (stspolicy_mx_match(pol->mx[i], dns->hosts[h])) {
					out->match[out->n_match++] = dns->hosts[h];
					break;
				}
			}
		}
		out->why = "enforced MTA-STS policy allows no MX host of the domain";
		return out->n_match > 0;
	}
	for (unsigned i = 0; i < pol->n_mx && i < STSPOLICY_MAX_MX; i++) {
		int dup = 0;

		if (pol->mx[i][0] == '*')
			continue;
		for (unsigned j = 0; j < out->n_match && !dup; j++)
			dup = strcmp(out->match[j], pol->mx[i]) == 0;
		if (!dup)
			out->match[out->n_match++] = pol->mx[i];
	}
	out->why = "MX lookup failed and the policy names no MX host exactly";
	return out->n_match > 0;
}

/* The row: the policy in force, else what discovery found. */
static enum decide_row
decide_row(const struct decide_input *in, const struct cfg_zone *zone, int64_t now,
           const struct stspolicy **polp, int *from_cache)
{
	const struct stspolicy *pol = NULL;
	enum decide_row row;

	/* The policy in force: the one just fetched, else a valid cached one (RFC 8461 s5.1). */
	if (in->disc == DECIDE_DISC_FETCHED) {
		INVARIANT(in->fresh != NULL);
		pol = in->fresh;
	} else if (in->cached != NULL && in->cached->has_policy && now < in->cached->expires) {
		pol = &in->cached->policy;
		*from_cache = 1;
	}

	if (pol != NULL) {
		if (pol->mode == STSPOLICY_MODE_ENFORCE ||
		    (pol->mode == STSPOLICY_MODE_TESTING && zone->testing == CFG_TESTING_ENFORCE))
			row = ROW_ENFORCE;
		else if (pol->mode == STSPOLICY_MODE_TESTING)
			row = ROW_TESTING;
		else
			row = ROW_NONE;
	} else if (in->disc == DECIDE_DISC_FETCH_FAILED) {
		row = ROW_FETCH_FAILED;
	} else if (in->disc == DECIDE_DISC_TXT_FAILED) {
		row = ROW_TXT_FAILED;
	} else {
		row = ROW_NONE;
	}

	*polp = pol;
	return row;
}

void
decide_cell(const struct decide_input *in, const struct cfg_zone *zone, int64_t now,
            const char **row, const char **col)
{
	static const char *const rows[ROW_COUNT] = {"enforce", "testing", "none", "fetch_failed",
	                                            "txt_failed"};
	const struct stspolicy *pol;
	int from_cache = 0;

	*row = rows[decide_row(in, zone, now, &pol, &from_cache)];
	*col = dane_state_name(zone->dane ? in->dane : DANE_INSECURE);
}

void
decide(const struct decide_input *in, const struct cfg_zone *zone, int64_t now, struct answer *out)
{
	const struct stspolicy *pol = NULL;
	const struct decide_cell *cell;
	enum decide_row row;
	enum decide_col col;
	enum decide_act act;
	int from_cache = 0;

	row = decide_row(in, zone, now, &pol, &from_cache);
	col = decide_col(zone->dane ? in->dane : DANE_INSECURE);
	cell = &decide_table[row][col];
	out->kind = ANSWER_OK;
	out->level = ANSWER_LEVEL_SECURE;
	out->policy = NULL;
	out->why = cell->why;
	out->n_match = 0;
	out->tlsrpt_domain = NULL;
	act = cell->act;
	if (row == ROW_ENFORCE && col == COL_SOME && zone->dane_partial == CFG_DANE_PARTIAL_DANE) {
		/* The operator's choice: hosts without TLSA get Postfix's opportunistic TLS. */
		act = ACT_DANE;
		out->why =
		    "enforced MTA-STS policy, some MX hosts DANE: dane (dane_partial = dane)";
	}
	switch (act) {
	case ACT_SEC:
		out->policy = pol;
		if (zone->mx_check && !decide_exact(pol, in->dns, out)) {
			/* Fail closed (design.md): TEMP, never a broader match=. */
			out->kind = ANSWER_TEMP;
			out->policy = NULL;
			out->n_match = 0;
			break;
		}
		out->why = cell->why;
		if (zone->tlsrpt)
			out->tlsrpt_domain = in->domain;
		if (pol->mode == STSPOLICY_MODE_TESTING)
			out->why = "testing policy enforced by configuration";
		else if (from_cache && in->disc != DECIDE_DISC_NOT_RUN)
			/* RFC 8461 s5.1: discovery failed or found nothing, the cache still rules.
			 */
			out->why = "cached MTA-STS policy (DNS/HTTPS ignored until expiry)";
		break;
	case ACT_DANE_ONLY:
		out->level = ANSWER_LEVEL_DANE_ONLY;
		break;
	case ACT_DANE:
		out->level = ANSWER_LEVEL_DANE;
		break;
	case ACT_FB:
		if (row == ROW_NONE && pol != NULL)
			out->why = "MTA-STS mode none: fallback";
		else if (row == ROW_NONE && in->cached != NULL && in->cached->has_policy)
			/* RFC 8461 s5.1: an expired policy is never applied. */
			out->why = "cached MTA-STS policy expired: fallback";
		decide_fallback(zone, out);
		break;
	case ACT_TEMP:
		out->kind = ANSWER_TEMP;
		break;
	}
}

int
decide_needs_dns(const struct cacherec *rec, const struct cfg_zone *zone, int trust_ad, int64_t now)
{
	const struct stspolicy *p = &rec->policy;

	if (zone->dane && trust_ad)
		return 1;
	if (!zone->mx_check)
		return 0;
	switch (cacherec_view(rec, now)) {
	case CACHEREC_VIEW_POLICY:
		return p->mode == STSPOLICY_MODE_ENFORCE ||
		       (p->mode == STSPOLICY_MODE_TESTING && zone->testing == CFG_TESTING_ENFORCE);
	case CACHEREC_VIEW_NO_POLICY:
	case CACHEREC_VIEW_TXT_FAILED:
		return 0;
	case CACHEREC_VIEW_UNKNOWN:
		break;
	}
	return 1; /* discovery may find an enforced policy: have the MX set ready */
}

enum decide_disc
decide_cached_disc(enum cacherec_view view)
{
	switch (view) {
	case CACHEREC_VIEW_POLICY:
		return DECIDE_DISC_NOT_RUN;
	case CACHEREC_VIEW_NO_POLICY:
		return DECIDE_DISC_NO_POLICY;
	case CACHEREC_VIEW_TXT_FAILED:
		return DECIDE_DISC_TXT_FAILED;
	case CACHEREC_VIEW_UNKNOWN:
		break;
	}
	/* Not a cache answer: treat as a failed lookup, the row that never weakens delivery. */
	return DECIDE_DISC_TXT_FAILED;
}
