/* health.c - /healthz, /readyz (no token), /metrics (listed addresses or
 * the metrics token). */
#include "api/handlers.h"
#include "server/request.h"
#include "server/worker.h"
#include "server/metrics.h"
#include "db/db.h"
#include "db/cache.h"

#include "server/config.h"

#include <event2/buffer.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* /metrics shows sign-ins, 429s and clerk alerts: it is for the
 * operator's scraper, not the public.  One rule: the client's address
 * (r->remote, which honours WB_TRUSTED_PROXIES) is in WB_METRICS_ALLOW,
 * or it sends Authorization: Bearer WB_METRICS_TOKEN (when one is set).
 * The token is compared as BLAKE2b digests with sodium_memcmp, so the
 * time taken says nothing about it, its length included. */
static bool address_allowed(const char *list, const char *addr)
{
    if (config_addr_listed(list, addr))
        return true;
    /* a dual-stack socket shows IPv4 clients as ::ffff:a.b.c.d */
    return strncasecmp(addr, "::ffff:", 7) == 0 && strchr(addr + 7, '.') &&
           config_addr_listed(list, addr + 7);
}

static bool token_allowed(const char *want, const char *header)
{
    if (!want[0] || !header || strncasecmp(header, "Bearer ", 7) != 0)
        return false;
    const char *got = header + 7;
    unsigned char a[crypto_generichash_BYTES], b[crypto_generichash_BYTES];
    if (crypto_generichash(a, sizeof a, (const unsigned char *)got, strlen(got), NULL, 0) != 0 ||
        crypto_generichash(b, sizeof b, (const unsigned char *)want, strlen(want), NULL, 0) != 0)
        return false;
    return sodium_memcmp(a, b, sizeof a) == 0;
}

void h_metrics(struct req *r)
{
    const struct config *cfg = r->w->cfg;
    if (!address_allowed(cfg->metrics_allow, r->remote) &&
        !token_allowed(cfg->metrics_token, req_header(r, "Authorization"))) {
        reply_error(r, 403, "forbidden", NULL,
                    "metrics are served to the addresses of WB_METRICS_ALLOW or with the "
                    "metrics token");
        return;
    }
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
