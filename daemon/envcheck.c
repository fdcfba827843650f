/* SPDX-License-Identifier: MIT */
/*
 * envcheck: what the configuration asks of the machine, checked before the daemon serves.
 * Effectful (E): looks up accounts, stats and opens files, loads the CA file with OpenSSL,
 * forks. The parser (cfg.c) stays pure; this is the one place both -t and start-up ask.
 * Checked as the user the daemon serves as (after the privilege drop), because that user is
 * the one LMDB and libcurl act as: cache_dir (a directory it may read, write and search, or a
 * missing one whose parent it may write; data.mdb and lock.mdb in it writable: a cache made
 * by an earlier run as root is the usual trap), ca_file (opens, and OpenSSL loads at least one
 * certificate from it exactly as libcurl's CAINFO will: a file it cannot load fails every
 * fetch), socket_group (exists). -t started as root forks a child that drops to the user and
 * checks; the parent never changes identity. Messages: "[daemon] KEY: VALUE: reason".
 * Also the privilege drop itself (initgroups, setgid, setuid, and root must not come back).
 */
#include "envcheck.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "xalloc.h"

#define ENVCHECK_PATH_MAX 4096 /* cache_dir and its LMDB file names */

int
envcheck_drop_privileges(const char *user, char *err, size_t errsz)
{
	struct passwd *pw;

	if (user == NULL || *user == '\0')
		return 0;
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errsz, "[daemon] user: %s: no such user", user);
		return -1;
	}
	if (getuid() == pw->pw_uid)
		return 0;
	if (initgroups(user, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0) {
		snprintf(err, errsz, "[daemon] user: %s: cannot switch to it: %s", user,
		         strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		snprintf(err, errsz, "[daemon] user: %s: root privileges could be regained", user);
		return -1;
	}
	return 0;
}

/* "user NAME" for the effective uid, for messages. */
static void
who(char *buf, size_t bufsz)
{
	struct passwd *pw = getpwuid(geteuid());

	if (pw != NULL)
		snprintf(buf, bufsz, "user %s", pw->pw_name);
	else
		snprintf(buf, bufsz, "uid %ld", (long)geteuid());
}

/* "owner U:G, mode 0NNN" of st. */
static void
owner(const struct stat *st, char *buf, size_t bufsz)
{
	struct passwd *pw = getpwuid(st->st_uid);
	struct group *gr = getgrgid(st->st_gid);
	char u[64], g[64];

	if (pw != NULL)
		snprintf(u, sizeof(u), "%s", pw->pw_name);
	else
		snprintf(u, sizeof(u), "%ld", (long)st->st_uid);
	if (gr != NULL)
		snprintf(g, sizeof(g), "%s", gr->gr_name);
	else
		snprintf(g, sizeof(g), "%ld", (long)st->st_gid);
	snprintf(buf, bufsz, "owner %s:%s, mode %04o", u, g, (unsigned)(st->st_mode & 07777));
}

/* May we (effective ids) access path with mode? On failure err says why, naming the key. */
static int
may_access(const char *key, const char *path, int mode, const char *what, char *err, size_t errsz)
{
	struct stat st;
	char id[80], own[160];

	if (faccessat(AT_FDCWD, path, mode, AT_EACCESS) == 0)
		return 0;
	if (errno == EROFS) {
		snprintf(err, errsz, "[daemon] %s: %s: on a read-only file system", key, path);
		return -1;
	}
	if (errno != EACCES || stat(path, &st) != 0) {
		snprintf(err, errsz, "[daemon] %s: %s: %s", key, path, strerror(errno));
		return -1;
	}
	who(id, sizeof(id));
	owner(&st, own, sizeof(own));
	snprintf(err, errsz, "[daemon] %s: %s: not %s by %s (%s)", key, path, what, id, own);
	return -1;
}

/* cache_dir: what cache_open() will do after the drop: mkdir (not recursive), then LMDB opens
 * data.mdb and lock.mdb read-write in it. */
static int
check_cache_dir(const char *dir, char *err, size_t errsz)
{
	char path[ENVCHECK_PATH_MAX], id[80];
	static const char *const files[] = {"data.mdb", "lock.mdb"};
	struct stat st;
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(path) - 16) {
		snprintf(err, errsz, "[daemon] cache_dir: %s: path too long", dir);
		return -1;
	}
	if (stat(dir, &st) != 0) {
		char *slash;

		if (errno != ENOENT) {
			snprintf(err, errsz, "[daemon] cache_dir: %s: %s", dir, strerror(errno));
			return -1;
		}
		/* Missing: the daemon creates it, so its parent must exist and be writable. */
		memcpy(path, dir, n + 1);
		while (n > 1 && path[n - 1] == '/')
			path[--n] = '\0';
		slash = strrchr(path, '/');
		if (slash == NULL) {
			snprintf(err, errsz, "[daemon] cache_dir: %s: not an absolute path", dir);
			return -1;
		}
		slash[slash == path] = '\0'; /* keep "/" as the parent of "/x" */
		if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
			snprintf(err, errsz,
			         "[daemon] cache_dir: %s: does not exist, and neither does the "
			         "directory %s it would be made in",
			         dir, path);
			return -1;
		}
		if (faccessat(AT_FDCWD, path, W_OK | X_OK, AT_EACCESS) != 0) {
			char own[160];
			int e = errno;

			who(id, sizeof(id));
			owner(&st, own, sizeof(own));
			snprintf(
			    err, errsz,
			    "[daemon] cache_dir: %s: does not exist, and %s cannot create it in "
			    "%s (%s): create it owned by that user, mode 0700",
			    dir, id, path, e == EROFS ? "read-only file system" : own);
			return -1;
		}
		return 0;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errsz, "[daemon] cache_dir: %s: not a directory", dir);
		return -1;
	}
	if (may_access("cache_dir", dir, R_OK | W_OK | X_OK, "writable", err, errsz) != 0)
		return -1;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (lstat(path, &st) != 0 && errno == ENOENT)
			continue; /* LMDB creates it */
		if (may_access("cache_dir", path, R_OK | W_OK, "writable", err, errsz) != 0)
			return -1;
	}
	return 0;
}

/* ca_file: open it ourselves for a plain errno message, then load it the way libcurl's
 * CURLOPT_CAINFO does with OpenSSL (X509_load_cert_crl_file: every PEM block must decode),
 * and require at least one certificate among what loaded. */
static int
check_ca_file(const char *file, char *err, size_t errsz)
{
	X509_STORE *store;
	X509_LOOKUP *lookup;
	STACK_OF(X509_OBJECT) * objs;
	int fd, loaded, certs = 0;
	struct stat st;
	unsigned long e;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == EACCES)
			return may_access("ca_file", file, R_OK, "readable", err, errsz);
		snprintf(err, errsz, "[daemon] ca_file: %s: %s", file, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "[daemon] ca_file: %s: not a regular file", file);
		close(fd);
		return -1;
	}
	close(fd);
	ERR_clear_error();
	store = X509_STORE_new();
	INVARIANT(store != NULL);
	lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
	INVARIANT(lookup != NULL);
	loaded = X509_load_cert_crl_file(lookup, file, X509_FILETYPE_PEM);
	if (loaded > 0) {
		objs = X509_STORE_get0_objects(store);
		for (int i = 0; i < sk_X509_OBJECT_num(objs); i++)
			if (X509_OBJECT_get_type(sk_X509_OBJECT_value(objs, i)) == X509_LU_X509)
				certs++;
	}
	e = ERR_peek_last_error();
	if (certs == 0) {
		const char *why = e != 0 ? ERR_reason_error_string(e) : NULL;

		if (loaded > 0 || why == NULL)
			snprintf(err, errsz, "[daemon] ca_file: %s: no PEM certificate in it",
			         file);
		else
			snprintf(err, errsz,
			         "[daemon] ca_file: %s: not a PEM certificate bundle (OpenSSL: %s)",
			         file, why);
	}
	X509_STORE_free(store);
	ERR_clear_error();
	return certs > 0 ? 0 : -1;
}

int
envcheck_files(const struct cfg *cfg, char *err, size_t errsz)
{
	if (check_cache_dir(cfg->cache_dir, err, errsz) != 0)
		return -1;
	if (cfg->ca_file != NULL && check_ca_file(cfg->ca_file, err, errsz) != 0)
		return -1;
	if (cfg->socket_group != NULL && getgrnam(cfg->socket_group) == NULL) {
		snprintf(err, errsz, "[daemon] socket_group: %s: no such group", cfg->socket_group);
		return -1;
	}
	return 0;
}

/* Run envcheck_files() in a child that became user (we are root): the parent keeps its
 * identity. The child sends its message (empty: all is well) through a pipe. */
static int
check_as(const struct cfg *cfg, const char *user, char *err, size_t errsz)
{
	int fds[2], st = 0;
	pid_t pid, w;
	size_t have = 0;

	if (pipe2(fds, O_CLOEXEC) != 0 || (pid = fork()) < 0) {
		snprintf(err, errsz, "[daemon] user: %s: cannot check as this user: %s", user,
		         strerror(errno));
		return -1;
	}
	if (pid == 0) {
		char msg[600] = "";
		int rc;

		close(fds[0]);
		rc = envcheck_drop_privileges(user, msg, sizeof(msg)) == 0 &&
		             envcheck_files(cfg, msg, sizeof(msg)) == 0
		         ? 0
		         : 1;
		(void)!write(fds[1], msg, strlen(msg));
		_exit(rc);
	}
	close(fds[1]);
	if (errsz > 0)
		err[0] = '\0';
	while (errsz > 0 && have < errsz - 1) {
		ssize_t r = read(fds[0], err + have, errsz - 1 - have);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		have += (size_t)r;
	}
	if (errsz > 0)
		err[have] = '\0';
	close(fds[0]);
	/* Passed only when the child was reaped and said so: a lost status (waitpid failing, as
	 * with SIGCHLD ignored) or any message from it is a failure, never a silent pass. */
	while ((w = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
		;
	if (w == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0 && have == 0)
		return 0;
	if (have == 0)
		snprintf(err, errsz, "[daemon] user: %s: the check as this user failed (status %d)",
		         user, w == pid ? st : -1);
	return -1;
}

int
envcheck_config(const struct cfg *cfg, char *err, size_t errsz)
{
	const char *user = cfg->user;
	struct passwd *pw;

	if (user == NULL || *user == '\0')
		return envcheck_files(cfg, err, errsz);
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errsz, "[daemon] user: %s: no such user", user);
		return -1;
	}
	if (getuid() == pw->pw_uid)
		return envcheck_files(cfg, err, errsz);
	if (geteuid() != 0) {
		snprintf(
		    err, errsz,
		    "[daemon] user: %s: mta-stsd runs as uid %ld and cannot switch to it (start "
		    "it as root or as %s)",
		    user, (long)getuid(), user);
		return -1;
	}
	return check_as(cfg, user, err, errsz);
}
