/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_CFG_H
#define MTASTSD_CFG_H

#include <stddef.h>
#include <sys/socket.h>

#define CFG_LISTEN_MAX 16     /**< listeners */
#define CFG_ZONE_MAX 32       /**< socketmap-name sections */
#define CFG_ZONE_NAME_MAX 63  /**< same as SOCKETMAP_NAME_MAX */
#define CFG_UNIX_PATH_MAX 107 /**< unix: socket path bytes, sizeof(sockaddr_un.sun_path) - 1 */
#define CFG_KEYS_MAX 32       /**< bound on the number of keys of the language */
#define CFG_DEFAULT_PATH "/etc/mta-stsd/mta-stsd.conf"

/** Kind of a listen value. */
enum cfg_listen_kind {
	CFG_LISTEN_INET = 0, /**< inet:IPV4:PORT or inet:[IPV6]:PORT */
	CFG_LISTEN_UNIX,     /**< unix:/PATH */
};

/** A parsed listen value, ready for socket(), bind() and connect(). */
struct cfg_listen {
	enum cfg_listen_kind kind;        /**< inet or unix */
	struct sockaddr_storage addr;     /**< a sockaddr_in, sockaddr_in6 or sockaddr_un */
	socklen_t addrlen;                /**< length of the address in addr */
	char path[CFG_UNIX_PATH_MAX + 1]; /**< unix: the socket path; inet: "" */
};

/** Why a listen value was refused (cfg_listen_strerror() gives the text). */
enum cfg_listen_err {
	CFG_LISTEN_OK = 0,       /**< parsed */
	CFG_LISTEN_ERR_SCHEME,   /**< neither inet: nor unix: */
	CFG_LISTEN_ERR_INET,     /**< not IPV4:PORT or [IPV6]:PORT with port 1..65535 */
	CFG_LISTEN_ERR_RELATIVE, /**< unix: path not absolute */
	CFG_LISTEN_ERR_LONG,     /**< unix: path longer than CFG_UNIX_PATH_MAX */
	CFG_LISTEN_ERR_CONTROL,  /**< unix: control character in the path */
};

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

/**
 * Whole daemon configuration: an immutable heap object with a reference count. cfg_parse()
 * makes one (one reference, owned by the caller); whoever keeps it beyond a call takes its own
 * reference with cfg_ref() and drops it with cfg_unref(), which frees the object and its
 * strings with the last one. Nobody changes it once it is shared (a reload builds a new one and
 * swaps it in; in-flight requests and lookups keep the one they started with). The only
 * mutable member is the count, and only cfg_ref()/cfg_unref() touch it.
 */
struct cfg {
	unsigned refs;                /**< references; cfg_ref()/cfg_unref() only */
	char *listen[CFG_LISTEN_MAX]; /**< "inet:HOST:PORT" or "unix:PATH" */
	unsigned n_listen;            /**< count */
	unsigned socket_mode;         /**< unix socket mode (octal in the file) */
	char *socket_group;           /**< unix socket group or NULL */
	char *user;                   /**< drop privileges to this user, or NULL */
	char *cache_dir;              /**< LMDB directory */
	unsigned cache_map_mb;        /**< initial LMDB map size, MiB (grown when full) */
	char *dns_servers;            /**< "ip[:port],..." or NULL for /etc/resolv.conf */
	char *ca_file;                /**< CA bundle or NULL for the system default */
	unsigned fetch_timeout;       /**< seconds, total per HTTPS fetch */
	unsigned dns_timeout;         /**< seconds per DNS query */
	unsigned txt_recheck;         /**< seconds between background TXT checks */
	unsigned dns_stale;       /**< seconds an expired DNS record still answers while renewed */
	unsigned refresh;         /**< seconds after which a policy is refetched proactively */
	unsigned refresh_active;  /**< a domain asked for within this many seconds is refreshed */
	unsigned max_connections; /**< cap on open Postfix connections */
	unsigned max_lookups;     /**< cap on concurrent domain lookups */
	unsigned dnssec;          /**< 1: trust the resolver's AD bit (validating, local) */
	char *metrics;            /**< "inet:HOST:PORT" of the Prometheus endpoint, or NULL (off) */
	char *shared_cache; /**< fleet cache URL (sharedrec_url_parse() accepts it), or NULL */
	char *shared_cache_password_file; /**< file with "[USER ]PASSWORD" for AUTH, or NULL */
	char *
	    shared_cache_key_file; /**< file with the fleet's HMAC key (a must with shared_cache) */
	unsigned shared_cache_timeout; /**< milliseconds for one shared-cache call */
	unsigned shared_cache_lease; /**< 1: one node of the fleet fetches a domain, others wait */
	unsigned shared_cache_lease_wait;    /**< ms a client's lookup waits on another's lease */
	struct cfg_zone zones[CFG_ZONE_MAX]; /**< named sections */
	unsigned n_zones;                    /**< count */
	struct cfg_zone default_zone;        /**< [default] */
};

/** The configuration used when no file exists. */
extern const char cfg_default_text[];

/**
 * Parse INI text (built-in defaults first, then the text), validate, make a new configuration.
 * @param text INI text (NUL-terminated)
 * @param err message buffer filled on failure ("line N: ...") @param errsz its size (may be 0)
 * @return new configuration with one reference (caller drops it with cfg_unref()), or NULL
 */
struct cfg *cfg_parse(const char *text, char *err, size_t errsz);

/**
 * Take a reference.
 * @param c configuration or NULL
 * @return c (NULL for NULL); drop the reference with cfg_unref()
 */
struct cfg *cfg_ref(struct cfg *c);

/**
 * Drop a reference; the last one frees the configuration, its strings and its zones (any
 * struct cfg_zone pointer into it dies with it).
 * @param c configuration or NULL (no-op)
 */
void cfg_unref(struct cfg *c);

/**
 * Make a configuration read at reload describe what the running daemon actually applies: for
 * each [daemon] key only a restart applies (listen, socket_mode, socket_group, user, cache_dir,
 * dns_servers, ca_file, fetch_timeout, dns_timeout, dnssec, metrics, shared_cache*) whose value
 * differs, copy the running value into fresh and name the key. Zone sections, txt_recheck, refresh,
 * max_connections and max_lookups keep fresh's values. Listeners compare as a set of
 * addresses (order and spelling do not count).
 * @param fresh new configuration, not yet shared (exactly one reference)
 * @param running the configuration in use (unchanged)
 * @param changed filled with the names of the keys that differed (static strings), in table
 *                order, at most max of them (CFG_KEYS_MAX is always enough)
 * @param max size of changed
 * @return number of keys that differed (every one keeps its running value, even beyond max)
 */
size_t cfg_keep_restart(struct cfg *fresh, const struct cfg *running, const char **changed,
                        size_t max);

/**
 * @param c configuration @param name socketmap name (not NUL-terminated) @param len its length
 * @return the matching section, or the [default] section; it lives as long as c
 */
const struct cfg_zone *cfg_zone_find(const struct cfg *c, const char *name, size_t len);

/**
 * Parse a listen value: "inet:IPV4:PORT", "inet:[IPV6]:PORT" (numeric addresses only: nothing
 * resolves names at bind time; port 1..65535, decimal digits only) or "unix:/PATH" (absolute,
 * at most CFG_UNIX_PATH_MAX bytes, no control characters). The one parser of listen values:
 * configuration checks, the daemon's listeners and mta-stsctl's connection all use it.
 * @param value the value (NUL-terminated) @param out caller storage, filled on success
 * @return CFG_LISTEN_OK, or why the value is refused (out is then unspecified)
 */
enum cfg_listen_err cfg_listen_parse(const char *value, struct cfg_listen *out);

/** @param e result of cfg_listen_parse() @return its message (static text) */
const char *cfg_listen_strerror(enum cfg_listen_err e);

/** @param f fallback @return its config spelling */
const char *cfg_fallback_name(enum cfg_fallback f);

#endif
