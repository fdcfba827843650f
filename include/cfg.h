/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_CFG_H
#define MTASTSD_CFG_H

#include <stddef.h>

#define CFG_LISTEN_MAX 16    /**< listeners */
#define CFG_ZONE_MAX 32      /**< socketmap-name sections */
#define CFG_ZONE_NAME_MAX 63 /**< same as SOCKETMAP_NAME_MAX */
#define CFG_DEFAULT_PATH "/etc/mta-stsd/mta-stsd.conf"

/** What to answer where neither MTA-STS nor DANE applies. */
enum cfg_fallback {
	CFG_FALLBACK_NOTFOUND = 0, /**< let Postfix use its own default */
	CFG_FALLBACK_MAY,          /**< opportunistic TLS */
	CFG_FALLBACK_ENCRYPT,      /**< mandatory unauthenticated TLS */
	CFG_FALLBACK_DANE,         /**< opportunistic DANE */
};

/** How to treat mode: testing. */
enum cfg_testing {
	CFG_TESTING_IGNORE = 0, /**< as RFC 8461: deliver as if no policy */
	CFG_TESTING_ENFORCE,    /**< treat like enforce */
};

/** What to answer for an enforced policy when only some MX hosts have DANE. */
enum cfg_dane_partial {
	CFG_DANE_PARTIAL_DANE_ONLY = 0, /**< dane-only: hosts without TLSA are not used */
	CFG_DANE_PARTIAL_DANE,          /**< dane: hosts without TLSA get mandatory TLS */
};

/** Per socketmap-name settings ([postfix], [default], ...). */
struct cfg_zone {
	char name[CFG_ZONE_NAME_MAX + 1];   /**< section name */
	enum cfg_fallback fallback;         /**< fallback answer */
	enum cfg_testing testing;           /**< testing handling */
	int dane;                           /**< 1: detect DANE (needs [daemon] dnssec = yes) */
	enum cfg_dane_partial dane_partial; /**< enforce + DANE on some MX hosts */
	int mx_check;                       /**< 1: match= lists the MX hosts the policy allows */
	int tlsrpt;                         /**< 1: add Postfix 3.10 TLSRPT attributes */
};

/** Whole daemon configuration; strings owned, released by cfg_fini(). */
struct cfg {
	char *listen[CFG_LISTEN_MAX]; /**< "inet:HOST:PORT" or "unix:PATH" */
	unsigned n_listen;            /**< count */
	unsigned socket_mode;         /**< unix socket mode (octal in the file) */
	char *socket_group;           /**< unix socket group or NULL */
	char *user;                   /**< drop privileges to this user, or NULL */
	char *cache_dir;              /**< LMDB directory */
	char *dns_servers;            /**< "ip[:port],..." or NULL for /etc/resolv.conf */
	char *ca_file;                /**< CA bundle or NULL for the system default */
	unsigned fetch_timeout;       /**< seconds, total per HTTPS fetch */
	unsigned dns_timeout;         /**< seconds per DNS query */
	unsigned txt_recheck;         /**< seconds between background TXT checks */
	unsigned refresh;             /**< seconds after which a policy is refetched proactively */
	unsigned max_connections;     /**< cap on open Postfix connections */
	unsigned max_lookups;         /**< cap on concurrent domain lookups */
	unsigned dnssec;              /**< 1: trust the resolver's AD bit (validating, local) */
	struct cfg_zone zones[CFG_ZONE_MAX]; /**< named sections */
	unsigned n_zones;                    /**< count */
	struct cfg_zone default_zone;        /**< [default] */
	unsigned refs;                       /**< references (cfg_ref / cfg_unref) */
};

/** The configuration used when no file exists. */
extern const char cfg_default_text[];

/**
 * Parse INI text into cfg (defaults first, then the text), then validate.
 * @param text INI text (NUL-terminated) @param out caller storage; cfg_fini() it even on error
 * @param err message buffer filled on failure ("line N: ...") @param errsz its size
 * @return 0 on success, -1 on any error
 */
int cfg_parse(const char *text, struct cfg *out, char *err, size_t errsz);

/** Release strings owned by cfg. @param c configuration */
void cfg_fini(struct cfg *c);

/**
 * Take a reference: the configuration stays as it is until the last one is dropped.
 * @param c heap configuration (or NULL) @return c
 */
struct cfg *cfg_ref(struct cfg *c);

/** Drop a reference; the last one frees it (cfg_fini + free). @param c configuration or NULL */
void cfg_unref(struct cfg *c);

/**
 * @param c configuration @param name socketmap name (not NUL-terminated) @param len its length
 * @return the matching section, or the [default] section
 */
const struct cfg_zone *cfg_zone_find(const struct cfg *c, const char *name, size_t len);

/** @param f fallback @return its config spelling */
const char *cfg_fallback_name(enum cfg_fallback f);

#endif
