/* settler.h - the server's own monthly settlement of inspections: a
 * thread that, soon after local midnight on the 1st (and once when the
 * server starts), settles the month before for the whole tree
 * (db/settle.h).  Running beside another instance's settler, or beside
 * `wbctl settle`, pays nobody twice; a run cut short by a store error is
 * tried again a minute later. */
#ifndef WB_SETTLER_H
#define WB_SETTLER_H

struct config;
struct settler;

/* Start the thread; NULL when it could not be started. */
struct settler *settler_start(const struct config *cfg);

/* Stop it (waits for a run in progress to finish its group) and free. */
void settler_stop(struct settler *s);

#endif
