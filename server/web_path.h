/* web_path.h - what a request path for the web apps may name: the one
 * rule by which static_site.c turns a raw path into the name of a file it
 * holds.  Percent-encoding is decoded; a NUL byte, a backslash, an empty
 * segment (but a last one: "console/") and a "." or ".." segment are
 * refused whether sent plain or encoded.  Kept apart so the fuzz target
 * (tests/fuzz/fuzz_web_path.c) can drive it alone. */
#ifndef WB_WEB_PATH_H
#define WB_WEB_PATH_H

#include <stdbool.h>
#include <stddef.h>

/* raw_path ("/console/x.js", as sent) decoded into out without its
 * leading "/": true, or false when it can name no file (or does not fit
 * len bytes). */
bool web_path_decode(const char *raw_path, char *out, size_t len);

#endif
