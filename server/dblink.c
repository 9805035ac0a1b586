/* dblink.c - see dblink.h. */
#include "server/dblink.h"
#include "server/clock.h"
#include "server/config.h"
#include "server/log.h"
#include "db/db.h"
#include "db/stats.h"

#include <stdbool.h>
#include <stdio.h>

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 1000
#define IDLE_PING_MS 30000
#define FAST_FAIL_MS 50

static struct db *open_db(const struct config *cfg, char *err, size_t errlen)
{
    struct db_params p = {
        .host = cfg->db_host,
        .port = cfg->db_port,
        .socket = cfg->db_socket,
        .user = cfg->db_user,
        .password = cfg->db_password,
        .name = cfg->db_name,
        .connect_timeout = 2,
        .rw_timeout = 10,
    };
    return db_open(&p, err, errlen);
}

struct db *dblink_get(struct dblink *l)
{
    long long now = clock_mono_ms();
    /* A link the server closed (a restart, a kill, wait_timeout) is found
     * here, before the request's first statement, and replaced, rather
     * than failing that request: the closed socket is readable, which
     * costs one poll() to see.  A link that went quiet without a word (a
     * peer gone from the network) is pinged after a quiet spell. */
    if (l->db && !db_dead(l->db) &&
        (db_link_lost(l->db) || (now - l->used_ms > IDLE_PING_MS && db_ping(l->db) != 0)))
        l->next_try_ms = 0;
    if (l->db)
        l->used_ms = now;
    if (l->db && !db_dead(l->db))
        return l->db;
    if (now < l->next_try_ms)
        return NULL;
    char err[256];
    bool ok;
    if (!l->db) {
        l->db = open_db(l->cfg, err, sizeof err);
        ok = l->db != NULL;
    } else {
        ok = db_reconnect(l->db) == 0;
        snprintf(err, sizeof err, "%s", db_error(l->db));
    }
    if (ok) {
        if (l->backoff_ms > 0) {
            atomic_fetch_add(&wb_stats.db_reconnects, 1);
            log_msg(LOG_INFO, "%s: mariadb connection restored", l->name);
        }
        l->backoff_ms = 0;
        l->used_ms = now;
        return l->db;
    }
    if (l->backoff_ms == 0)
        log_msg(LOG_WARN, "%s: mariadb unavailable: %s", l->name, err);
    l->backoff_ms = l->backoff_ms ? l->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (l->backoff_ms > BACKOFF_MAX_MS)
        l->backoff_ms = BACKOFF_MAX_MS;
    /* The back-off spares requests a slow connect (a host that does not
     * answer).  A connect refused at once (a local server that is down)
     * costs nothing: try again on the next request, so the first one after
     * MariaDB returns is served, not refused by a pause still running. */
    l->next_try_ms = clock_mono_ms() - now < FAST_FAIL_MS ? 0 : now + l->backoff_ms;
    return NULL;
}

void dblink_close(struct dblink *l)
{
    db_close(l->db);
    l->db = NULL;
}
