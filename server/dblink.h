/* dblink.h - one thread's MariaDB connection, opened on first use, checked
 * before each use (a closed link is replaced before the request's first
 * statement), and reconnected while MariaDB is away: at once when the
 * connect was refused at once, after a growing pause (100 ms to 1 s) when
 * it was slow, so a request never waits out a connect timeout after the
 * first one failed. */
#ifndef WB_DBLINK_H
#define WB_DBLINK_H

struct config;
struct db;

struct dblink {
    const struct config *cfg;
    const char *name;             /* for the log: "worker 3", "ledger 1" */
    struct db *db;
    long long next_try_ms;        /* reconnect back-off */
    long long used_ms;            /* last handed out: idle links are pinged */
    int backoff_ms;
};

/* The connection when usable, reconnecting when it was lost; NULL while
 * MariaDB is unreachable. */
struct db *dblink_get(struct dblink *l);

/* Close the connection (on the thread that used it). */
void dblink_close(struct dblink *l);

#endif
