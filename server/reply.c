/* reply.c - the single exit of every request: headers, body, access log,
 * metrics, then evhttp_send_reply. */
#include "server/request.h"
#include "server/worker.h"
#include "server/metrics.h"
#include "server/clock.h"
#include "server/log.h"
#include "server/guard.h"
#include "db/db.h"
#include "db/stats.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 423: return "Locked";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "";
    }
}

const char *req_query(const struct req *r, const char *name)
{
    return r->query ? evhttp_find_header(r->query, name) : NULL;
}

const char *req_header(const struct req *r, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(r->ev), name);
}

void reply_header(struct req *r, const char *name, const char *value)
{
    evhttp_add_header(evhttp_request_get_output_headers(r->ev), name, value);
}

static void on_complete(struct evhttp_request *ev, void *arg)
{
    (void)ev;
    worker_reply_flushed(arg);
}

/* The request target is the client's bytes: an invalid UTF-8 byte made
 * json_pack fail and the request went unlogged.  It is logged escaped
 * (guard_escape: percent-encoding, so it reads as the same URL), at most
 * LOG_TARGET_MAX bytes of it, with its full length when cut. */
#define LOG_TARGET_MAX 4096

static void access_log(struct req *r, uint64_t ns)
{
    const char *uri = evhttp_request_get_uri(r->ev);
    size_t ulen = uri ? strlen(uri) : 0;
    char path[3 * LOG_TARGET_MAX + 1];
    size_t covered = guard_escape(uri ? uri : "", ulen < LOG_TARGET_MAX ? ulen : LOG_TARGET_MAX,
                                  path, sizeof path);
    json_t *f = json_pack("{s:s, s:s, s:s, s:i, s:f, s:s, s:i}",
                          "request_id", r->id,
                          "method", r->method,
                          "path", path,
                          "status", r->status,
                          "ms", (double)ns / 1e6,
                          "remote", r->remote,
                          "worker", r->w ? r->w->index : -1);
    if (!f) {
        /* out of memory: still say that the request happened */
        log_msg(LOG_WARN, "request %s: status %d (the access log entry could not be built)",
                r->id, r->status);
        return;
    }
    if (covered < ulen) {
        json_object_set_new(f, "path_bytes", json_integer((json_int_t)ulen));
        json_object_set_new(f, "path_truncated", json_true());
    }
    if (r->route)
        json_object_set_new(f, "route", json_string(r->route->pattern));
    if (r->authed) {
        json_object_set_new(f, "role", json_string(role_name(r->who.role)));
        if (r->who.staff_id)
            json_object_set_new(f, "staff_id", json_integer(r->who.staff_id));
        if (r->who.household_id)
            json_object_set_new(f, "household_id", json_integer(r->who.household_id));
    }
    if (r->log_note)
        json_object_set_new(f, "note", json_string(r->log_note));
    log_event(r->status >= 500 ? LOG_WARN : LOG_INFO, "request", f);
    json_decref(f);
}

/* Scripts, styles, fonts and connections from this origin only, no
 * inline script; images also as data: and blob: URLs (QR codes drawn in
 * the page); no frames, no plugins. */
#define CONTENT_SECURITY_POLICY                                                                \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "  \
    "font-src 'self'; connect-src 'self'; media-src 'self' blob:; worker-src 'self'; "        \
    "manifest-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "       \
    "form-action 'self'"

/* The one place a reply leaves.  buf (may be NULL) is not taken. */
static void send_now(struct req *r, int status, const char *ctype, struct evbuffer *buf)
{
    if (r->done) {
        log_msg(LOG_ERROR, "BUG: second reply to request %s", r->id);
        return;
    }
    r->done = true;
    r->status = status;
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
    evhttp_add_header(h, "X-Request-Id", r->id);
    if (ctype)
        evhttp_add_header(h, "Content-Type", ctype);
    if (!evhttp_find_header(h, "Cache-Control"))
        evhttp_add_header(h, "Cache-Control", "no-store");
    /* every answer, the web apps' and the API's: nothing but this origin */
    evhttp_add_header(h, "Content-Security-Policy", CONTENT_SECURITY_POLICY);
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    evhttp_add_header(h, "X-Frame-Options", "DENY");
    /* A request the guard refused had its body dropped: the connection
     * cannot carry another request.  The guard's rewritten head says
     * Connection: close already; this keeps the rule in one place here
     * too, whatever evhttp makes of the client's version. */
    struct guard_note g;
    guard_note_of(evhttp_request_get_input_headers(r->ev), &g);
    if (r->w->stopping || g.verdict != GUARD_PASS)
        evhttp_add_header(h, "Connection", "close");
    uint64_t ns = clock_mono_ns() - r->t0;
    metrics_observe(r->route_index, status, ns);
    access_log(r, ns);
    if (status == 401)
        metrics_event(MET_AUTH_REJECTED);
    /* A client that went away leaves the request without a connection;
     * evhttp then frees it inside send_reply and never completes it. */
    if (evhttp_request_get_connection(r->ev)) {
        r->w->unflushed++;
        evhttp_request_set_on_complete_cb(r->ev, on_complete, r->w);
    }
    evhttp_send_reply(r->ev, status, reason_phrase(status), buf);
    worker_request_end(r->w);
}

static int dump_cb(const char *buf, size_t size, void *data)
{
    return evbuffer_add(data, buf, size);
}

void reply_json(struct req *r, int status, json_t *body)
{
    struct evbuffer *b = evbuffer_new();
    if (!b) {
        json_decref(body);
        send_now(r, 500, NULL, NULL);
        return;
    }
    if (body) {
        if (json_dump_callback(body, dump_cb, b, JSON_COMPACT | JSON_REAL_PRECISION(10)) != 0) {
            evbuffer_drain(b, evbuffer_get_length(b));
            status = 500;
            evbuffer_add_printf(b, "{\"error\":{\"code\":\"internal\",\"message\":\"could not encode the answer\",\"request_id\":\"%s\"}}", r->id);
        }
        json_decref(body);
    }
    send_now(r, status, body ? "application/json; charset=utf-8" : NULL, b);
    evbuffer_free(b);
}

void reply_error_ex(struct req *r, int status, const char *code, const char *field,
                    json_t *in_error, json_t *beside, const char *message)
{
    json_t *err = json_object();
    json_t *top = beside && json_is_object(beside) ? beside : json_object();
    if (beside && top != beside)
        json_decref(beside);
    if (!err || !top) {
        json_decref(err);
        json_decref(top);
        json_decref(in_error);
        send_now(r, 500, NULL, NULL);
        return;
    }
    json_object_set_new(err, "code", json_string(code));
    json_object_set_new(err, "message", json_string(message));
    if (field)
        json_object_set_new(err, "field", json_string(field));
    json_object_set_new(err, "request_id", json_string(r->id));
    if (in_error) {
        json_object_update(err, in_error);
        json_decref(in_error);
    }
    json_object_set_new(top, "error", err);
    reply_json(r, status, top);
}

void reply_error(struct req *r, int status, const char *code, const char *field,
                 const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    reply_error_ex(r, status, code, field, NULL, NULL, msg);
}

void reply_raw(struct req *r, int status, const char *content_type, const void *data,
               size_t len)
{
    struct evbuffer *b = evbuffer_new();
    if (!b || evbuffer_add(b, data, len) != 0) {
        if (b)
            evbuffer_free(b);
        send_now(r, 500, NULL, NULL);
        return;
    }
    send_now(r, status, content_type, b);
    evbuffer_free(b);
}

void reply_buffer(struct req *r, int status, const char *content_type, struct evbuffer *buf)
{
    send_now(r, status, content_type, buf);
}

void reply_static(struct req *r, int status, const char *content_type, const void *data,
                  size_t len)
{
    struct evbuffer *b = evbuffer_new();
    if (!b || evbuffer_add_reference(b, data, len, NULL, NULL) != 0) {
        if (b)
            evbuffer_free(b);
        send_now(r, 500, NULL, NULL);
        return;
    }
    send_now(r, status, content_type, b);
    evbuffer_free(b);
}

void reply_empty(struct req *r)
{
    send_now(r, 204, NULL, NULL);
}

void reply_store_error(struct req *r, int kind)
{
    atomic_fetch_add(&wb_stats.db_errors, 1);
    if (kind == DB_CONN) {
        reply_error(r, 503, "unavailable", NULL, "the database is unavailable; nothing was written");
        return;
    }
    if (kind == DB_RETRY) {
        reply_header(r, "Retry-After", "1");
        reply_error(r, 503, "unavailable", NULL,
                    "the database is busy with this record; nothing was written, try again");
        return;
    }
    if (kind == DB_SLOW) {
        reply_error(r, 503, "unavailable", NULL,
                    "the report took longer than the store allows; ask for a shorter period "
                    "or a smaller region");
        return;
    }
    reply_error(r, 500, "internal", NULL, "internal error");
}

void reply_db_error(struct req *r, struct db *d)
{
    int kind = d ? (int)db_errkind(d) : (int)DB_CONN;
    if (kind != DB_CONN && kind != DB_RETRY && kind != DB_SLOW)
        log_msg(LOG_ERROR, "request %s: database error %d: %s", r->id, db_errno(d), db_error(d));
    reply_store_error(r, kind);
}

void reply_tx_error(struct req *r, struct db *d, int rc)
{
    if (rc == DB_TX_UNKNOWN) {
        atomic_fetch_add(&wb_stats.db_errors, 1);
        reply_error(r, 503, "outcome_unknown", NULL,
                    "the store failed while committing; check whether the change was made "
                    "before sending it again");
        return;
    }
    reply_db_error(r, d);
}
