/* SPDX-License-Identifier: MIT */
#ifndef MTASTSD_ENVCHECK_H
#define MTASTSD_ENVCHECK_H

#include <stddef.h>

#include "cfg.h"

/**
 * Switch the process to the service user: initgroups, setgid, setuid, then prove that root
 * cannot be regained. Nothing happens when user is NULL or empty or already the real uid.
 * @param user the [daemon] user value or NULL
 * @param err message on failure ("[daemon] user: NAME: reason") @param errsz its size
 * @return 0, or -1 with err set
 */
int envcheck_drop_privileges(const char *user, char *err, size_t errsz);

/**
 * Check, with the identity the process has now, what the daemon will need once it serves:
 * cache_dir exists and is a directory it may read, write and search (or is missing and may be
 * created in its parent), the LMDB files in it are readable and writable; ca_file, when set,
 * opens and holds at least one PEM certificate OpenSSL loads the way libcurl will; a
 * socket_group names a group. Called at start-up after the privilege drop, and by
 * envcheck_config().
 * @param cfg configuration (borrowed for the call)
 * @param err message on failure ("[daemon] KEY: VALUE: reason") @param errsz its size
 * @return 0, or -1 with err set (the first problem found)
 */
int envcheck_files(const struct cfg *cfg, char *err, size_t errsz);

/**
 * The -t check of the environment: the user exists and the process may become it; then
 * envcheck_files() as that user would run it. Started as root with another user configured,
 * the files are checked in a forked child that has dropped to that user (this process keeps
 * its identity); otherwise in this process.
 * @param cfg configuration (borrowed for the call)
 * @param err message on failure @param errsz its size
 * @return 0, or -1 with err set
 */
int envcheck_config(const struct cfg *cfg, char *err, size_t errsz);

#endif
