/* settler.h - the thread of the server's own chores, so that none of them
 * ever holds a worker's event loop.  Once a minute it closes the days that
 * have ended (db/closing.h), and it settles inspections (db/settle.h), a
 * county's households group by group:
 *
 *   - on its own, soon after local midnight on the 1st (and once when the
 *     server starts), it settles the month before for the whole tree;
 *   - on request (POST /v1/settlements/inspections), it settles one
 *     region's month and answers on the requesting worker's loop.
 *
 * Running beside another instance's settler, or beside `wbctl settle`,
 * pays nobody twice; an automatic run cut short by a store error is tried
 * again a minute later. */
#ifndef WB_SETTLER_H
#define WB_SETTLER_H

#include "db/settle.h"

struct config;
struct settler;
struct event_base;

/* Called on the loop of the base given at submit: rc 0 with res filled,
 * or -1 (a store error; errkind is enum db_errkind). */
typedef void (*settle_done_fn)(int rc, int errkind, const struct settle_result *res, void *arg);

/* Start the thread; NULL when it could not be started. */
struct settler *settler_start(const struct config *cfg);

/* Stop it (a settlement in progress finishes; requests still queued are
 * answered rc -1) and free.  Call while the workers' loops run. */
void settler_stop(struct settler *s);

/* Queue a settlement of month for the subtree at path, by who (all
 * copied).  0, or -1 when it cannot be queued (done is not called). */
struct audit_actor;
int settler_submit(struct settler *s, struct event_base *base, const char *path,
                   const char *month, const struct audit_actor *who, settle_done_fn done,
                   void *arg);

#endif
