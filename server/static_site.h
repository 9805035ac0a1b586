/* static_site.h - the web apps (web/dist, WB_WEB_DIR), served by
 * wastebankd itself: the console at /console/, the station at /station/,
 * the till at /till/, the resident page at /me/, their hashed assets at
 * /assets/; "/" redirects to the console.
 *
 * Every regular file of the folder is read into memory once, when the
 * server starts (with its pre-compressed ".gz" twin), so a request never
 * waits on the disk and a path can only name a file that was loaded: a
 * request is looked up, never joined to the folder, so "..", encoded
 * forms, NUL bytes and symlinks that lead out of the folder find nothing
 * (404).  There is no directory listing.  A path under an app that names
 * no file and has no extension is the app's own route: its index.html.
 *
 * Answers carry their Content-Type; hashed assets are cached for a year
 * (immutable), everything else is revalidated (no-cache); gzip is sent
 * to a client that accepts it.  The security headers every response
 * carries (Content-Security-Policy and the rest) are server/reply.c's. */
#ifndef WB_STATIC_SITE_H
#define WB_STATIC_SITE_H

#include <stdbool.h>
#include <stddef.h>

struct req;
struct static_site;

#define STATIC_SITE_MAX_BYTES (64u * 1024 * 1024)   /* all files together */

/* Load dir.  A missing dir (apps not built) is an empty site; NULL with a
 * reason in err on an unreadable one or out of memory. */
struct static_site *static_site_load(const char *dir, char *err, size_t errlen);
void static_site_free(struct static_site *s);

/* Files loaded (for the log). */
size_t static_site_files(const struct static_site *s);

/* Is this request path (raw, as sent) the web apps'? */
bool static_site_claims(const char *raw_path);

/* Answer a GET or HEAD of raw_path: the file, a redirect, or 404. */
void static_site_serve(struct req *r, const struct static_site *s, const char *raw_path);

#endif
