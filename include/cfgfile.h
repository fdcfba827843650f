/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_CFGFILE_H
#define MTASTSD_CFGFILE_H

#include <stddef.h>

#include "cfg.h"

#define CFGFILE_MAX_BYTES (1024 * 1024) /**< a configuration file above this is refused */

/** The origin cfgfile_load() reports for cfg_default_text, "built-in defaults": compare the
 * pointer. */
extern const char cfgfile_builtin_origin[];

/**
 * Read and parse a configuration file: the one reader of mta-stsd (start and reload) and
 * mta-stsctl. A file over CFGFILE_MAX_BYTES or holding a NUL byte is an error, never cut short.
 * @param path the file
 * @param builtin_if_absent 1: a path that does not exist (ENOENT) gives cfg_default_text
 *        instead (the default path at start, or at reload of a daemon started that way);
 *        0: a missing file is an error like any other
 * @param origin set on success to path itself (borrowed) or to cfgfile_builtin_origin
 * @param err message on failure ("PATH: reason", "PATH: line N: ...") @param errsz its size
 * @return new configuration with one reference (caller drops it with cfg_unref()), or NULL
 */
struct cfg *cfgfile_load(const char *path, int builtin_if_absent, const char **origin, char *err,
                         size_t errsz);

#endif
