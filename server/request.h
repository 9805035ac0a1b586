/* request.h - the request context every handler works on, the route
 * table's row type, and the reply functions.
 *
 * Life of a request (router.c): route lookup (404/405) -> authentication
 * and roles (401/403) -> body limit, content type and JSON parse
 * (413/415/400) -> handler.  Authentication may wait for Redis without
 * blocking the worker (its one round trip), so the handler may run from
 * the worker's event loop after router_handle has returned.  A handler answers by calling exactly one
 * reply_* function; after that it must not touch the reply again.  The
 * struct req itself is freed by the router once the handler returns, or,
 * for a handler that set r->async, by whoever calls reply_* later
 * (see req_finish_async).
 */
#ifndef WB_REQUEST_H
#define WB_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct evhttp_request;
struct evkeyvalq;
struct worker;
struct req;
struct db;

/* Roles are bits so a route can allow several. */
enum {
    ROLE_ADMIN = 1 << 0,
    ROLE_REGION_ADMIN = 1 << 1,
    ROLE_ATTENDANT = 1 << 2,
    ROLE_CLERK = 1 << 3,
    ROLE_RESIDENT = 1 << 4,
    ROLE_INSPECTOR = 1 << 5,
};
#define ROLES_ADMINS (ROLE_ADMIN | ROLE_REGION_ADMIN)
#define ROLES_STAFF (ROLE_ADMIN | ROLE_REGION_ADMIN | ROLE_ATTENDANT | ROLE_CLERK | ROLE_INSPECTOR)
#define ROLES_ANY (ROLES_STAFF | ROLE_RESIDENT)
#define ROLES_PUBLIC 0

/* Role name <-> bit; role_bit returns 0 for an unknown name. */
int role_bit(const char *name);
const char *role_name(int bit);

/* Who a verified token says the caller is. */
struct principal {
    int role;                 /* one ROLE_* bit */
    long long staff_id;       /* staff tokens */
    long long household_id;   /* resident tokens */
    long long region_id;      /* 0 = none (province-wide admin) */
    long long site_id;        /* attendants */
    long long shop_id;        /* clerks */
    long long ver;            /* token_version at issue */
    long long exp, iat;
    char jti[33];
};

enum body_kind {
    BODY_NONE,                /* any body is ignored */
    BODY_JSON,                /* application/json, parsed into r->body */
    BODY_CSV,                 /* text/csv, raw in r->raw */
};

typedef void (*handler_fn)(struct req *r);

/* What a handler reads from Redis, which the router reads for it with
 * the token's revocation entries, in the request's one round trip (the
 * result in struct req's cached_*).  Declared beside the route table
 * (router.h, wb_prefetch), one row per handler that reads Redis. */
enum prefetch {
    PREFETCH_NONE,
    PREFETCH_OWN_BALANCE,     /* a resident's own balance entry (db/balance.h) */
};

struct route_prefetch {
    handler_fn handler;
    enum prefetch what;
};

struct route {
    const char *method;       /* "GET", "POST", "PUT", "PATCH", "DELETE" */
    const char *pattern;      /* "/v1/households/{id}/card.png" */
    int roles;                /* ROLES_PUBLIC: no token needed */
    enum body_kind body;
    size_t max_body;          /* 0: the 64 KiB default */
    handler_fn handler;
};

#define REQ_MAX_PARAMS 4
#define DEFAULT_MAX_BODY (64 * 1024)
#define LARGEST_MAX_BODY (16 * 1024 * 1024)

struct req {
    struct evhttp_request *ev;
    struct worker *w;
    const struct route *route;
    int route_index;          /* into the route table; -1 unmatched */
    char id[65];              /* request id, echoed in X-Request-Id */
    char remote[64];          /* client address (X-Forwarded-For if trusted) */
    char method[8];
    long long param[REQ_MAX_PARAMS];   /* {id}-style path parameters */
    int nparam;
    struct principal who;
    bool authed;
    json_t *body;             /* parsed JSON body or NULL; owned by req */
    const char *raw;          /* the raw body, owned by evhttp */
    size_t rawlen;
    struct evkeyvalq *query;  /* parsed query string; owned by req */
    uint64_t t0;              /* monotonic ns at arrival */
    int status;
    bool done;                /* a reply has been sent */
    bool async;               /* handler returned before replying */
    const char *log_note;     /* optional extra word for the access log */
    char reach_path[256];     /* the caller's subtree, loaded on first use */
    bool reach_loaded;
    /* the route's prefetch, as db/balance.h's balance_of_entry gave it:
     * 1 with cached_balance, cached_seq; 0 absent or stale (read the
     * record, refill); -1 not read (Redis unavailable, writes of this
     * process behind, or no prefetch): read the record only */
    int cached_rc;
    long long cached_balance, cached_seq;
};

/* Query parameter by name (NULL when absent). */
const char *req_query(const struct req *r, const char *name);
/* A request header (NULL when absent). */
const char *req_header(const struct req *r, const char *name);

/* Add a response header before the reply. */
void reply_header(struct req *r, const char *name, const char *value);

/* Send body (stolen; NULL sends no body) as JSON with status. */
void reply_json(struct req *r, int status, json_t *body);

/* Send {"error":{code,message,field?,request_id}}.  field may be NULL. */
void reply_error(struct req *r, int status, const char *code, const char *field,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* As reply_error, with extra members merged into the error object
 * (in_error, e.g. attempts_left) and beside it at the top level
 * (beside, e.g. errors[]).  Both are stolen and may be NULL. */
void reply_error_ex(struct req *r, int status, const char *code, const char *field,
                    json_t *in_error, json_t *beside, const char *message);

/* Send raw bytes with a content type (copied). */
void reply_raw(struct req *r, int status, const char *content_type, const void *data,
               size_t len);

/* Send the bytes of buf with a content type; buf is emptied (moved into
 * the response, not copied) and stays the caller's to free. */
struct evbuffer;
void reply_buffer(struct req *r, int status, const char *content_type, struct evbuffer *buf);

/* 204 No Content. */
void reply_empty(struct req *r);

/* Send data that outlives the reply (a static file held in memory) with
 * content_type, without copying it. */
void reply_static(struct req *r, int status, const char *content_type, const void *data,
                  size_t len);

/* Map a failed store call to 503 unavailable (connection) or 500. */
void reply_db_error(struct req *r, struct db *d);

/* The same for an error kind (enum db_errkind) met on another thread's
 * connection, which logged it. */
void reply_store_error(struct req *r, int kind);

/* After db_tx() failed with rc: -2 (the COMMIT was cut off) answers 503
 * outcome_unknown, anything else as reply_db_error. */
void reply_tx_error(struct req *r, struct db *d, int rc);

/* For async handlers: after the late reply_*, free the request. */
void req_finish_async(struct req *r);

#endif
