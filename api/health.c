/* health.c - /healthz, /readyz, /metrics (no token). */
#include "api/handlers.h"
#include "server/request.h"
#include "server/worker.h"
#include "server/metrics.h"
#include "db/db.h"
#include "db/cache.h"

#include <event2/buffer.h>
#include <stdlib.h>

void h_healthz(struct req *r)
{
    reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

void h_readyz(struct req *r)
{
    struct db *d = worker_db(r->w);
    bool db_ok = d && db_ping(d) == 0;
    bool redis_ok = cache_ping(r->w->cache) == 0;
    reply_json(r, db_ok ? 200 : 503,
               json_pack("{s:s, s:s, s:b}", "mariadb", db_ok ? "ok" : "down", "redis",
                         redis_ok ? "ok" : "down", "degraded", !redis_ok));
}

void h_metrics(struct req *r)
{
    struct evbuffer *b = evbuffer_new();
    if (!b) {
        reply_error(r, 500, "internal", NULL, "out of memory");
        return;
    }
    metrics_render(b);
    size_t n = evbuffer_get_length(b);
    reply_raw(r, 200, "text/plain; version=0.0.4; charset=utf-8", evbuffer_pullup(b, -1), n);
    evbuffer_free(b);
}
