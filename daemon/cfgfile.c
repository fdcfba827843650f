/* SPDX-License-Identifier: MIT */
/*
 * cfgfile: the configuration file -> a new struct cfg. Effectful (E): opens and reads the file,
 * then hands the text to cfg_parse() (pure). The one reader of mta-stsd (start and every
 * reload) and mta-stsctl, so both see the same bytes and the same errors. Limits: at most
 * CFGFILE_MAX_BYTES (1 MiB); a larger file, a read error or a NUL byte (which would end the
 * text early) is an error, never a silent cut. Only when the caller allows it (the default path,
 * no -c) does a file that does not exist stand for the built-in text; whether that is allowed
 * at reload is main.c's call. Messages name the file: "PATH: reason", "PATH: line N: ...".
 */
#include "cfgfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

const char cfgfile_builtin_origin[] = "built-in defaults";

struct cfg *
cfgfile_load(const char *path, int builtin_if_absent, const char **origin, char *err, size_t errsz)
{
	char msg[512];
	struct cfg *c;
	FILE *fp = fopen(path, "re");
	char *text;
	size_t n;

	if (fp == NULL) {
		if (builtin_if_absent && errno == ENOENT) {
			if ((c = cfg_parse(cfg_default_text, msg, sizeof(msg))) == NULL) {
				snprintf(err, errsz, "%s: %s", cfgfile_builtin_origin, msg);
				return NULL;
			}
			*origin = cfgfile_builtin_origin;
			return c;
		}
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return NULL;
	}
	/* One byte more than the cap tells "too large" from "exactly at the cap". */
	text = xmalloc(CFGFILE_MAX_BYTES + 1);
	n = fread(text, 1, CFGFILE_MAX_BYTES + 1, fp);
	if (ferror(fp) || n > CFGFILE_MAX_BYTES || memchr(text, '\0', n) != NULL) {
		snprintf(err, errsz, "%s: %s", path,
		         ferror(fp)              ? strerror(errno)
		         : n > CFGFILE_MAX_BYTES ? "larger than 1 MiB"
		                                 : "contains a NUL byte");
		fclose(fp);
		free(text);
		return NULL;
	}
	fclose(fp);
	text[n] = '\0';
	c = cfg_parse(text, msg, sizeof(msg));
	free(text);
	if (c == NULL) {
		snprintf(err, errsz, "%s: %s", path, msg);
		return NULL;
	}
	*origin = path;
	return c;
}
