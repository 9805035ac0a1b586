/* router.c - the request path, in a fixed order:
 *   request id -> the guard's refusals of framing (400, 503)
 *   -> a GET or HEAD of the web apps' paths: the file (static_site.h), no token
 *   -> route (404/405) -> auth and roles (401/403; the one wait on Redis,
 *      which does not block the worker)
 *   -> body limit, content type, JSON parse (413/415/400) -> handler.
 * Each refusal replies and returns before any handler code runs.  The
 * guard (guard.h) has already enforced body limits and deadlines on the
 * bytes; what it refused reaches us without a body and with its marker,
 * and is answered here at the step where the refusal belongs. */
#include "server/router.h"
#include "server/static_site.h"
#include "server/request.h"
#include "server/worker.h"
#include "server/server.h"
#include "server/config.h"
#include "server/token.h"
#include "server/clock.h"
#include "server/log.h"
#include "server/guard.h"
#include "db/db.h"
#include "db/balance.h"
#include "db/cache.h"
#include "db/revoke.h"

#include <ctype.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sodium.h>
#include <sys/queue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_JSON_DEPTH 8

static const struct {
    int bit;
    const char *name;
} role_names[] = {
    { ROLE_ADMIN, "admin" },
    { ROLE_REGION_ADMIN, "region_admin" },
    { ROLE_ATTENDANT, "attendant" },
    { ROLE_CLERK, "clerk" },
    { ROLE_RESIDENT, "resident" },
    { ROLE_INSPECTOR, "inspector" },
};

int role_bit(const char *name)
{
    for (size_t i = 0; name && i < sizeof role_names / sizeof role_names[0]; i++)
        if (strcmp(role_names[i].name, name) == 0)
            return role_names[i].bit;
    return 0;
}

const char *role_name(int bit)
{
    for (size_t i = 0; i < sizeof role_names / sizeof role_names[0]; i++)
        if (role_names[i].bit == bit)
            return role_names[i].name;
    return "none";
}

static const char *method_name(enum evhttp_cmd_type m)
{
    switch (m) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_TRACE: return "TRACE";
    case EVHTTP_REQ_CONNECT: return "CONNECT";
    case EVHTTP_REQ_PATCH: return "PATCH";
    default: return "OTHER";
    }
}

/* A path parameter is a positive decimal of at most 18 digits. */
static bool parse_param(const char *s, size_t n, long long *out)
{
    if (n == 0 || n > 18 || s[0] == '0')
        return false;
    long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool route_match(const char *pattern, const char *path, long long *params, int *nparams)
{
    const char *p = pattern, *s = path;
    int n = 0;
    while (*p && *s) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            if (!close)
                return false;
            size_t len = strcspn(s, "/");
            /* a parameter may be followed by a literal suffix in the same
             * segment, as in "{id}/card.png": digits end at the first non-digit */
            size_t digits = 0;
            while (digits < len && s[digits] >= '0' && s[digits] <= '9')
                digits++;
            if (n >= REQ_MAX_PARAMS || !parse_param(s, digits, &params[n]))
                return false;
            n++;
            s += digits;
            p = close + 1;
            continue;
        }
        if (*p != *s)
            return false;
        p++;
        s++;
    }
    if (*p || *s)
        return false;
    *nparams = n;
    return true;
}

static void set_request_id(struct req *r)
{
    const char *given = req_header(r, "X-Request-Id");
    if (given) {
        size_t n = strlen(given);
        if (n >= 1 && n <= 64 &&
            strspn(given, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") == n) {
            memcpy(r->id, given, n + 1);
            return;
        }
    }
    unsigned char raw[8];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(r->id, sizeof r->id, raw, sizeof raw);
}

/* The client's address: the peer, or, when the peer is a trusted proxy,
 * the right-most X-Forwarded-For entry that is not itself a trusted proxy
 * (every X-Forwarded-For line counts, in order: a proxy may add its own
 * line after one the client forged).  Entries to the right of the client
 * were written by our proxies and can be believed; an entry there that is
 * not an address means a proxy is misconfigured, and the peer stands. */
static void set_remote(struct req *r)
{
    char *addr = NULL;
    ev_uint16_t port = 0;
    struct evhttp_connection *con = evhttp_request_get_connection(r->ev);
    if (con)
        evhttp_connection_get_peer(con, &addr, &port);
    snprintf(r->remote, sizeof r->remote, "%s", addr ? addr : "-");
    if (!addr || !config_trusts_proxy(r->w->cfg, r->remote))
        return;
    char buf[2048] = "";
    size_t used = 0;
    struct evkeyval *h;
    TAILQ_FOREACH(h, evhttp_request_get_input_headers(r->ev), next) {
        if (strcasecmp(h->key, "X-Forwarded-For") != 0)
            continue;
        int n = snprintf(buf + used, sizeof buf - used, "%s%s", used ? "," : "", h->value);
        if (n < 0 || (size_t)n >= sizeof buf - used)
            return;             /* absurdly long: keep the peer */
        used += (size_t)n;
    }
    for (;;) {
        char *comma = strrchr(buf, ',');
        char *item = comma ? comma + 1 : buf;
        while (*item == ' ' || *item == '\t')
            item++;
        size_t n = strlen(item);
        while (n && (item[n - 1] == ' ' || item[n - 1] == '\t'))
            item[--n] = '\0';
        if (!n || n >= sizeof r->remote || strspn(item, "0123456789abcdefABCDEF.:") != n)
            return;             /* not an address: the last good one stands */
        snprintf(r->remote, sizeof r->remote, "%s", item);
        if (!config_trusts_proxy(r->w->cfg, item) || !comma)
            return;
        *comma = '\0';
    }
}

/* ---- authentication: the token, then its revocation ----
 *
 * The request path waits on Redis once, without blocking the worker: the
 * token's revocation entries and whatever the handler reads there
 * (wb_prefetch) go in one MGET on the worker's asynchronous link
 * (db/cache.h), and the request goes on from its answer - or at once from
 * MariaDB when Redis cannot be asked (breaker open, link not ready, no
 * trusted epoch).  The link's own timeout bounds the wait. */

struct auth_wait {
    struct req *r;
    struct revoke_query q;
    int balance_at;              /* the balance key's index in the MGET; -1 none */
};

static void run_handler(struct req *r);
static void req_free(struct req *r);

static enum prefetch prefetch_of(const struct route *rt)
{
    for (int i = 0; i < wb_nprefetch; i++)
        if (wb_prefetch[i].handler == rt->handler)
            return wb_prefetch[i].what;
    return PREFETCH_NONE;
}

/* Decide from what Redis answered (got, NULL when it was not read),
 * reading MariaDB for what it did not know; then roles, and the handler.
 * Replies and frees r in every case. */
static void auth_done(struct auth_wait *aw, const struct cache_entry *got)
{
    struct req *r = aw->r;
    struct db *d = NULL;
    int rc = revoke_cached(&aw->q, got);
    if (rc < 0 && (d = worker_db(r->w)) != NULL)
        rc = revoke_end(d, r->w->cache, &aw->q, got);
    /* while this process has balance publishes Redis did not take, the
     * entry may be older than the ledger (cache.h): not used then */
    if (aw->balance_at >= 0 && got && !cache_writes_behind())
        r->cached_rc = balance_of_entry(&got[aw->balance_at], &r->cached_balance,
                                        &r->cached_seq);
    free(aw);
    if (rc < 0) {
        reply_db_error(r, d);           /* d NULL: 503 unavailable */
    } else if (rc > 0) {
        reply_error(r, 401, "unauthorized", NULL, "the token has been revoked");
    } else {
        r->authed = true;
        if (r->route->roles & r->who.role) {
            run_handler(r);
            return;
        }
        reply_error(r, 403, "forbidden", NULL, "this role may not use %s %s",
                    r->route->method, r->route->pattern);
    }
    req_free(r);
}

static void on_auth_read(void *arg, const struct cache_entry *got)
{
    auth_done(arg, got);
}

/* Verify the token (through the worker's memo of verified tokens,
 * token.h: most requests repeat a token the worker has seen) and start
 * its revocation check, which no memo skips.  Replies and frees r in
 * every case, now or once Redis has answered. */
static void authenticate(struct req *r)
{
    const char *h = req_header(r, "Authorization");
    struct db *d = NULL;
    struct auth_wait *aw = NULL;
    if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7]) {
        reply_error(r, 401, "unauthorized", NULL, "a bearer token is required");
    } else if (token_verify_cached(r->w->tokens, r->w->cfg->jwt_secret, h + 7,
                                   (long long)clock_now(), &r->who) != 0) {
        reply_error(r, 401, "unauthorized", NULL, "the token is invalid or expired");
    } else if (!(d = worker_db(r->w))) {
        reply_error(r, 503, "unavailable", NULL,
                    "the database is unavailable; nothing was written");
    } else if (!(aw = malloc(sizeof *aw))) {
        reply_error(r, 500, "internal", NULL, "out of memory");
    }
    if (!aw) {
        req_free(r);
        return;
    }
    char kind = r->who.role == ROLE_RESIDENT ? 'h' : 's';
    long long id = kind == 'h' ? r->who.household_id : r->who.staff_id;
    aw->r = r;
    revoke_begin(d, &aw->q, kind, id, r->who.ver, r->who.jti);
    const char *keys[3];
    int n = 0;
    for (int i = 0; i < aw->q.nkeys; i++)
        keys[n++] = aw->q.keys[i];
    char bkey[BALANCE_KEY_MAX];
    aw->balance_at = -1;
    if (prefetch_of(r->route) == PREFETCH_OWN_BALANCE && r->who.role == ROLE_RESIDENT &&
        !cache_writes_behind()) {
        balance_key(bkey, sizeof bkey, r->who.household_id);
        aw->balance_at = n;
        keys[n++] = bkey;
    }
    if (n > 0 && cache_get_async(r->w->cache, n, keys, on_auth_read, aw) == 0)
        return;                 /* on_auth_read goes on */
    auth_done(aw, NULL);
}

static bool content_type_is(const char *ct, const char *want)
{
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    size_t n = strlen(want);
    if (strncasecmp(ct, want, n) != 0)
        return false;
    ct += n;
    while (*ct == ' ')
        ct++;
    return *ct == '\0' || *ct == ';';
}

static int json_depth(json_t *v)
{
    int best = 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) {
            int d = json_depth(x);
            if (d > best)
                best = d;
        }
        return best + 1;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            int d = json_depth(x);
            if (d > best)
                best = d;
        }
        return best + 1;
    }
    return 0;
}

/* jansson says "duplicate object key near '"name"'": name the field. */
static void duplicate_field(const char *text, char *field, size_t len)
{
    const char *q = strstr(text, "near '\"");
    if (!q) {
        snprintf(field, len, "body");
        return;
    }
    q += 7;
    size_t n = strcspn(q, "\"");
    if (n >= len)
        n = len - 1;
    memcpy(field, q, n);
    field[n] = '\0';
}

/* Invalid UTF-8 inside a string: name the key whose value it is (the last
 * '"key":' before the error), as api.md asks for a field. */
static void field_at(const char *raw, size_t pos, char *field, size_t len)
{
    snprintf(field, len, "body");
    for (size_t i = pos; i-- > 1;) {
        if (raw[i] != ':')
            continue;
        size_t j = i;
        while (j > 0 && (raw[j - 1] == ' ' || raw[j - 1] == '\t' || raw[j - 1] == '\n' ||
                         raw[j - 1] == '\r'))
            j--;
        if (j == 0 || raw[j - 1] != '"')
            continue;
        size_t end = j - 1, k = end;
        while (k > 0 && raw[k - 1] != '"')
            k--;
        if (k == 0 || end - k == 0 || end - k >= len)
            return;
        memcpy(field, raw + k, end - k);
        field[end - k] = '\0';
        return;
    }
}

static bool read_body_or_reply(struct req *r)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
    size_t len = evbuffer_get_length(in);
    size_t max = r->route->max_body ? r->route->max_body : DEFAULT_MAX_BODY;
    struct guard_note g;
    guard_note_of(evhttp_request_get_input_headers(r->ev), &g);
    if (g.verdict == GUARD_TOO_LARGE) {
        r->log_note = g.name;
        const char *who = g.unauthenticated ? " without a valid bearer token" : "";
        if (g.declared)
            reply_error(r, 413, "payload_too_large", NULL,
                        "the body is %llu bytes; this route takes at most %llu%s", g.declared,
                        g.limit, who);
        else
            reply_error(r, 413, "payload_too_large", NULL,
                        "the chunked body went past %llu bytes, the most this route takes%s",
                        g.limit, who);
        return false;
    }
    if (len > max) {
        reply_error(r, 413, "payload_too_large", NULL,
                    "the body is %zu bytes; this route takes at most %zu", len, max);
        return false;
    }
    if (r->route->body == BODY_NONE || len == 0)
        return true;
    const char *ct = req_header(r, "Content-Type");
    const char *want = r->route->body == BODY_JSON ? "application/json" : "text/csv";
    if (!content_type_is(ct, want)) {
        reply_error(r, 415, "unsupported_media_type", NULL,
                    "send the body as Content-Type: %s", want);
        return false;
    }
    r->raw = (const char *)evbuffer_pullup(in, -1);
    r->rawlen = len;
    if (r->route->body != BODY_JSON)
        return true;
    json_error_t jerr;
    r->body = json_loadb(r->raw, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!r->body) {
        char field[80];
        if (json_error_code(&jerr) == json_error_duplicate_key) {
            duplicate_field(jerr.text, field, sizeof field);
            reply_error(r, 400, "invalid_request", field, "duplicate key '%s'", field);
        } else if (json_error_code(&jerr) == json_error_invalid_utf8) {
            field_at(r->raw, (size_t)jerr.position < len ? (size_t)jerr.position : len, field,
                     sizeof field);
            reply_error(r, 400, "invalid_request", field, "%s is not valid UTF-8", field);
        } else {
            reply_error(r, 400, "invalid_request", "body", "malformed JSON: %s at position %d",
                        jerr.text, jerr.position);
        }
        return false;
    }
    if (json_depth(r->body) > MAX_JSON_DEPTH) {
        reply_error(r, 400, "invalid_request", "body", "JSON nested deeper than %d levels",
                    MAX_JSON_DEPTH);
        return false;
    }
    return true;
}

/* Find the route; reply 404 or 405 when there is none. */
static bool route_or_reply(struct req *r, const char *path)
{
    char allow[128] = "";
    for (int i = 0; i < wb_nroutes; i++) {
        long long params[REQ_MAX_PARAMS];
        int np = 0;
        if (!route_match(wb_routes[i].pattern, path, params, &np))
            continue;
        if (strcmp(wb_routes[i].method, r->method) == 0) {
            r->route = &wb_routes[i];
            r->route_index = i;
            memcpy(r->param, params, sizeof params);
            r->nparam = np;
            return true;
        }
        if (!strstr(allow, wb_routes[i].method) && strlen(allow) + 10 < sizeof allow) {
            if (allow[0])
                strcat(allow, ", ");
            strcat(allow, wb_routes[i].method);
        }
    }
    if (allow[0]) {
        reply_header(r, "Allow", allow);
        reply_error(r, 405, "method_not_allowed", NULL, "%s is not allowed here; use %s",
                    r->method, allow);
    } else {
        reply_error(r, 404, "not_found", NULL, "no such resource");
    }
    return false;
}

static void req_free(struct req *r)
{
    json_decref(r->body);
    if (r->query) {
        evhttp_clear_headers(r->query);
        free(r->query);
    }
    free(r);
}

void req_finish_async(struct req *r)
{
    if (!r->done) {
        log_msg(LOG_ERROR, "BUG: async request %s finished without a reply", r->id);
        reply_error(r, 500, "internal", NULL, "internal error");
    }
    req_free(r);
}

/* What the guard refused before any route applies: answer it.  A method
 * evhttp does not know reaches us as GET (the guard rewrote it) and is
 * routed as OTHER, which no route serves: 404, or 405 with Allow. */
static bool parse_uri_or_reply(struct req *r, const char **path);

static bool guard_or_reply(struct req *r)
{
    struct guard_note g;
    guard_note_of(evhttp_request_get_input_headers(r->ev), &g);
    if (g.verdict == GUARD_PASS || g.verdict == GUARD_TOO_LARGE)
        return true;
    r->log_note = g.name;
    switch (g.verdict) {
    case GUARD_FULL:
        reply_header(r, "Retry-After", "1");
        reply_error(r, 503, "unavailable", NULL,
                    "the server has too many open connections; try again shortly");
        break;
    case GUARD_BAD_METHOD: {
        const char *path;
        snprintf(r->method, sizeof r->method, "OTHER");
        if (parse_uri_or_reply(r, &path) && route_or_reply(r, path))
            reply_error(r, 405, "method_not_allowed", NULL, "this method is not served");
        break;
    }
    default:
        reply_error(r, 400, "invalid_request", NULL, "%s", g.why ? g.why : "malformed request");
        break;
    }
    return false;
}

static bool parse_uri_or_reply(struct req *r, const char **path)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->ev);
    *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!*path || !**path) {
        reply_error(r, 404, "not_found", NULL, "no such resource");
        return false;
    }
    const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
    if (q) {
        r->query = calloc(1, sizeof *r->query);
        if (!r->query) {
            reply_error(r, 500, "internal", NULL, "out of memory");
            return false;
        }
        TAILQ_INIT(r->query);
        if (evhttp_parse_query_str(q, r->query) != 0) {
            reply_error(r, 400, "invalid_request", "query", "malformed query string");
            return false;
        }
    }
    return true;
}

/* Body, handler, and the end of the request (unless the handler went
 * asynchronous: its completion replies and frees). */
static void run_handler(struct req *r)
{
    if (read_body_or_reply(r)) {
        r->route->handler(r);
        if (r->async)
            return;
        if (!r->done) {
            log_msg(LOG_ERROR, "BUG: handler for %s %s returned without a reply",
                    r->route->method, r->route->pattern);
            reply_error(r, 500, "internal", NULL, "internal error");
        }
    }
    req_free(r);
}

void router_handle(struct evhttp_request *ev, void *arg)
{
    struct worker *w = arg;
    struct req *r = calloc(1, sizeof *r);
    if (!r) {
        evhttp_send_error(ev, 500, NULL);
        return;
    }
    r->ev = ev;
    r->w = w;
    r->t0 = clock_mono_ns();
    r->route_index = -1;
    r->cached_rc = -1;
    worker_request_begin(w);
    snprintf(r->method, sizeof r->method, "%s", method_name(evhttp_request_get_command(ev)));
    set_request_id(r);
    set_remote(r);

    const char *path;
    bool reading = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
    if (!guard_or_reply(r) || !parse_uri_or_reply(r, &path)) {
        req_free(r);
    } else if (reading && static_site_claims(path)) {
        static_site_serve(r, w->srv->web, path);   /* the web apps: no token */
        req_free(r);
    } else if (!route_or_reply(r, path))
        req_free(r);
    else if (r->route->roles == ROLES_PUBLIC)
        run_handler(r);
    else
        authenticate(r);        /* then run_handler, now or once Redis answered */
}
