/* guard.c - request framing, limits, deadlines and the connection cap in
 * front of evhttp; see guard.h.
 *
 * Framing follows evhttp 2.1.12 (http.c, with Debian's backports of the
 * 2.1.13 fixes) so that the two never disagree about where a request
 * ends: head lines end at "\n" with an optional "\r" before it; a request
 * has a body only for methods evhttp reads one for, from
 * Transfer-Encoding: chunked or else Content-Length.  Where evhttp is
 * lenient the guard is strict and refuses (folded headers, spaces
 * around names, a second framing header, any coding but chunked,
 * control characters in headers, chunk lines without CRLF).
 *
 * A chunked body is decoded by the guard, which holds the request until
 * its last chunk (at most its limit, which evhttp would have buffered
 * anyway) and then gives evhttp the head with a Content-Length and the
 * plain body: evhttp never parses chunked framing, and every refusal is
 * decided before evhttp has seen any of the request.  (This evhttp no
 * longer merges trailers into the headers, CVE-2026-63379, so there is
 * no way to refuse a request whose head it already has.)  The cost: a
 * chunked upload that waits for 100 Continue gets none, and sends after
 * its own timeout (curl: 1 s).
 *
 * Deadlines:
 *   headers: GUARD_HEAD_DEADLINE_MS (10 s) from the request's first byte;
 *   body:    10 s + bytes / 8 KiB per second from the end of the headers,
 *            where bytes is the Content-Length, or for a chunked body the
 *            bytes its chunks have announced so far (so 4 KiB: 10.5 s,
 *            64 KiB: 18 s, 1 MiB: 138 s, 16 MiB: 34 min; a request
 *            without a valid token is at most 4 KiB, so at most 10.5 s).
 * A deadline that passes while evhttp itself is busy with an earlier
 * request on the connection (its reading is off, or it has not yet
 * taken what the guard gave it) waits until evhttp is done, and that
 * wait is added to it: the client is not the one being slow. */
#include "server/guard.h"
#include "server/clock.h"
#include "server/config.h"
#include "server/log.h"
#include "server/request.h"
#include "server/router.h"
#include "server/token.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MARKER "X-WB-Guard"
#define CHUNK_LINE_MAX 1024          /* a chunk-size line, extensions included */
#define TRAILER_MAX (4 * 1024)       /* trailer lines after the last chunk (dropped) */
#define BODY_GRACE_MS 10000
#define BODY_MIN_RATE 8192           /* bytes per second a body must average */
#define LOOKAHEAD (64 * 1024)        /* bytes read ahead of what evhttp has taken */
#define BUSY_POLL_MS 500
#define LINGER_MS 5000               /* draining a refused client's bytes after the answer */
#define LINGER_MAX 64                /* sockets lingering at once, per worker */

/* The marker carries this random word, so a marker that somehow did not
 * come from this process's guard is ignored even if it got through. */
static char nonce[17];

static atomic_int open_connections;

int guard_init(void)
{
    unsigned char raw[8];
    randombytes_buf(raw, sizeof raw);
    if (!sodium_bin2hex(nonce, sizeof nonce, raw, sizeof raw))
        return -1;
    return 0;
}

int guard_open_connections(void)
{
    return atomic_load(&open_connections);
}

/* ================================================================ framing */

enum fstate { F_HEAD, F_BODY, F_CHUNK_SIZE, F_CHUNK_DATA, F_CHUNK_END, F_TRAILER, F_DISCARD };

/* Reasons for GUARD_MALFORMED, by number in the marker. */
enum reason {
    R_LINE = 1, R_TARGET, R_VERSION, R_HEADER, R_FOLDING, R_CONTENT_LENGTH,
    R_TRANSFER_ENCODING, R_BODYLESS, R_CHUNK, R_TRAILER, R_COUNT
};

static const char *const reason_text[R_COUNT] = {
    [R_LINE] = "the request line is not METHOD SP TARGET SP HTTP-version",
    [R_TARGET] = "the request target is not a valid URI",
    [R_VERSION] = "only HTTP/1.0 and HTTP/1.1 are served",
    [R_HEADER] = "a header line is not NAME: VALUE, or holds a control character",
    [R_FOLDING] = "folded (continued) header lines are not accepted",
    [R_CONTENT_LENGTH] = "Content-Length is not one decimal number",
    [R_TRANSFER_ENCODING] = "only Transfer-Encoding: chunked is accepted, and never with "
                            "Content-Length",
    [R_BODYLESS] = "HEAD and TRACE requests take no body",
    [R_CHUNK] = "the chunked body is malformed",
    [R_TRAILER] = "the chunked body's trailer is malformed or too long",
};

/* Methods as evhttp_parse_request_line knows them; has_body mirrors
 * evhttp_method_may_have_body. */
static const struct {
    const char *name;
    bool has_body;
} methods[] = {
    { "GET", true }, { "POST", true }, { "PUT", true }, { "PATCH", true },
    { "DELETE", true }, { "OPTIONS", true },
    { "HEAD", false }, { "TRACE", false },
};
/* CONNECT (a method evhttp knows) is refused like an unknown one: no
 * route serves it, and the router answers 404/405 for it either way. */

static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

static bool span_is(const char *p, size_t n, const char *word)
{
    return strlen(word) == n && strncasecmp(p, word, n) == 0;
}

/* A header value as evhttp stores it: leading spaces skipped, trailing
 * linear white space trimmed (evhttp_parse_headers_). */
static void ev_value(const char **v, size_t *n)
{
    while (*n && **v == ' ') {
        (*v)++;
        (*n)--;
    }
    while (*n && strchr(" \t\r\n", (*v)[*n - 1]))
        (*n)--;
}

/* One parsed head.  Spans point into the caller's bytes. */
struct head {
    const char *line;            /* the request line, without its end */
    size_t line_len;
    bool line_ok;                /* METHOD SP TARGET SP HTTP/1.x, method known or not */
    int method;                  /* index into methods[], -1 unknown */
    bool connect;                /* the method is CONNECT (method is -1) */
    const char *target;
    size_t target_len;
    bool has_cl, chunked;
    uint64_t cl;                 /* saturates at UINT64_MAX */
    const char *auth;            /* first Authorization value, evhttp-trimmed */
    size_t auth_len;
    enum reason bad;             /* 0, or why the head is refused */
    bool target_ok;              /* evhttp parses the target (set by parse_target) */
};

static bool parse_request_line(const char *p, size_t n, struct head *h)
{
    h->line = p;
    h->line_len = n;
    h->method = -1;
    const char *sp1 = memchr(p, ' ', n);
    if (!sp1 || sp1 == p)
        return false;
    const char *rest = sp1 + 1;
    size_t rn = n - (size_t)(rest - p);
    const char *sp2 = memchr(rest, ' ', rn);
    if (!sp2 || sp2 == rest)
        return false;
    const char *ver = sp2 + 1;
    size_t vn = n - (size_t)(ver - p);
    if (memchr(ver, ' ', vn))
        return false;
    for (const char *c = p; c < sp1; c++)
        if (!is_tchar((unsigned char)*c))
            return false;
    /* evhttp's URI parser takes any other byte in a target, and so does
     * the guard (the access log escapes them); a NUL would cut evhttp's
     * copy of the line short */
    if (memchr(p, '\0', n))
        return false;
    h->target = rest;
    h->target_len = (size_t)(sp2 - rest);
    if (!(vn == 8 && (memcmp(ver, "HTTP/1.1", 8) == 0 || memcmp(ver, "HTTP/1.0", 8) == 0))) {
        h->bad = R_VERSION;
        return true;
    }
    size_t mn = (size_t)(sp1 - p);
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strlen(methods[i].name) == mn && memcmp(methods[i].name, p, mn) == 0)
            h->method = (int)i;
    h->connect = mn == 7 && memcmp(p, "CONNECT", 7) == 0;
    return true;
}

/* Parse a complete head, p[0..n) ending with its empty line.  Fills *h;
 * h->bad says why it is refused (0: it is not). */
static void parse_head(const char *p, size_t n, struct head *h)
{
    memset(h, 0, sizeof *h);
    const char *end = p + n;
    const char *nl = memchr(p, '\n', n);
    size_t ln = (size_t)(nl - p);
    if (ln && p[ln - 1] == '\r')
        ln--;
    h->line_ok = parse_request_line(p, ln, h);
    if (!h->line_ok) {
        h->bad = R_LINE;
        return;
    }
    bool seen_cl = false, seen_te = false;
    for (const char *s = nl + 1; s < end;) {
        const char *e = memchr(s, '\n', (size_t)(end - s));
        size_t len = (size_t)(e - s);
        if (len && s[len - 1] == '\r')
            len--;
        const char *next = e + 1;
        if (len == 0)
            break;                          /* the empty line: the end */
        if (s[0] == ' ' || s[0] == '\t') {
            h->bad = h->bad ? h->bad : R_FOLDING;
            s = next;
            continue;
        }
        const char *colon = memchr(s, ':', len);
        bool ok = colon && colon > s;
        for (const char *c = s; ok && c < colon; c++)
            ok = is_tchar((unsigned char)*c);
        for (size_t i = 0; ok && i < len; i++)
            ok = !is_ctl((unsigned char)s[i]) || s[i] == '\t';
        if (!ok) {
            h->bad = h->bad ? h->bad : R_HEADER;
            s = next;
            continue;
        }
        size_t nn = (size_t)(colon - s);
        const char *v = colon + 1;
        size_t vn = len - nn - 1;
        ev_value(&v, &vn);
        if (span_is(s, nn, "Content-Length")) {
            uint64_t x = 0;
            bool digits = vn > 0;
            for (size_t i = 0; digits && i < vn; i++) {
                if (v[i] < '0' || v[i] > '9')
                    digits = false;
                else
                    x = x > (UINT64_MAX - 9) / 10 ? UINT64_MAX : x * 10 + (uint64_t)(v[i] - '0');
            }
            if (!digits || (seen_cl && x != h->cl))
                h->bad = h->bad ? h->bad : R_CONTENT_LENGTH;
            seen_cl = true;
            h->has_cl = true;
            h->cl = x;
        } else if (span_is(s, nn, "Transfer-Encoding")) {
            if (seen_te || !span_is(v, vn, "chunked"))
                h->bad = h->bad ? h->bad : R_TRANSFER_ENCODING;
            seen_te = true;
            h->chunked = true;
        } else if (span_is(s, nn, "Authorization") && !h->auth) {
            h->auth = v;
            h->auth_len = vn;
        }
        s = next;
    }
    if (h->bad)
        return;
    if (h->has_cl && h->chunked)
        h->bad = R_TRANSFER_ENCODING;
    else if (h->method >= 0 && !methods[h->method].has_body && (h->chunked || h->cl > 0))
        h->bad = R_BODYLESS;
}

/* Which of the client's header lines evhttp is given. */
enum emit_mode {
    EMIT_PASS,          /* all but the marker and an Expect other than 100-continue
                         * (evhttp would answer that 417, in HTML) */
    EMIT_DECHUNKED,     /* also without Transfer-Encoding and Expect: the body
                         * follows with a Content-Length */
    EMIT_REFUSED,       /* also without the framing and the client's say over
                         * the connection: no body follows, and it closes */
};

static bool dropped(const char *s, size_t nn, const char *v, size_t vn, enum emit_mode mode)
{
    if (span_is(s, nn, MARKER))
        return true;
    if (span_is(s, nn, "Expect"))
        return mode != EMIT_PASS || !span_is(v, vn, "100-continue");
    if (span_is(s, nn, "Transfer-Encoding"))
        return mode != EMIT_PASS;
    return mode == EMIT_REFUSED &&
           (span_is(s, nn, "Content-Length") || span_is(s, nn, "Connection") ||
            span_is(s, nn, "Proxy-Connection") || span_is(s, nn, "Keep-Alive"));
}

/* Append the request line and the header lines of the head p[0..n) to
 * out, as mode says, each ending in CRLF (not the empty line). */
static int emit_head(const struct head *h, const char *p, size_t n, enum emit_mode mode,
                     struct evbuffer *out)
{
    if (evbuffer_add(out, h->line, h->line_len) != 0 || evbuffer_add(out, "\r\n", 2) != 0)
        return -1;
    const char *end = p + n;
    const char *s = memchr(p, '\n', n) + 1;
    while (s < end) {
        const char *e = memchr(s, '\n', (size_t)(end - s));
        size_t len = (size_t)(e - s);
        if (len && s[len - 1] == '\r')
            len--;
        if (len == 0)
            break;
        const char *colon = memchr(s, ':', len);
        size_t nn = (size_t)(colon - s);
        const char *v = colon + 1;
        size_t vn = len - nn - 1;
        ev_value(&v, &vn);
        if (!dropped(s, nn, v, vn, mode) &&
            (evbuffer_add(out, s, len) != 0 || evbuffer_add(out, "\r\n", 2) != 0))
            return -1;
        s = e + 1;
    }
    return 0;
}

static int emit_marker(struct evbuffer *out, const char *fmt_verdict)
{
    return evbuffer_add_printf(out, MARKER ": %s %s\r\n", nonce, fmt_verdict) < 0 ? -1 : 0;
}

/* A refusal evhttp reads as a request without a body, answered before
 * routing: the request line when it is sound (so the access log names
 * the path; an unknown method becomes GET, the router knows it as
 * OTHER), else "GET /"; no client header; the marker; close. */
static int emit_refusal(const struct head *h, const char *verdict, struct evbuffer *out)
{
    int rc;
    if (h && h->target_ok && h->method >= 0 && h->bad != R_VERSION)
        rc = evbuffer_add(out, h->line, h->line_len);
    else if (h && h->target_ok)
        rc = evbuffer_add_printf(out, "GET %.*s HTTP/1.1", (int)h->target_len, h->target) < 0;
    else
        rc = evbuffer_add(out, "GET / HTTP/1.1", 14);
    if (rc != 0 || evbuffer_add(out, "\r\n", 2) != 0 || emit_marker(out, verdict) != 0 ||
        evbuffer_add(out, "Connection: close\r\n\r\n", 21) != 0)
        return -1;
    return 0;
}

/* The refusal of a body over its limit: the head as the client sent it
 * without its framing, so that routing and authentication answer first
 * (404, 401...) and a 413 only after them; then the verdict. */
static int emit_too_large(const struct head *h, const char *p, size_t n, uint64_t limit,
                          uint64_t declared, bool unauth, struct evbuffer *out)
{
    char verdict[96];
    snprintf(verdict, sizeof verdict, "too-large %" PRIu64 " %" PRIu64 " %d", limit, declared,
             unauth ? 1 : 0);
    if (emit_head(h, p, n, EMIT_REFUSED, out) != 0 || emit_marker(out, verdict) != 0 ||
        evbuffer_add(out, "Connection: close\r\n\r\n", 21) != 0)
        return -1;
    return 0;
}

/* Parse the target as evhttp will (evhttp_uri_parse_with_flags,
 * NONCONFORMANT), setting h->target_ok.  Not for CONNECT, whose target
 * is an authority that evhttp parses with a function it does not
 * export; nothing here serves CONNECT anyway.
 * Returns the parsed URI for the caller to free, or NULL. */
static struct evhttp_uri *parse_target(struct head *h)
{
    h->target_ok = false;
    if (!h->line_ok || h->target_len == 0)
        return NULL;
    char *target = malloc(h->target_len + 1);
    if (!target)
        return NULL;
    memcpy(target, h->target, h->target_len);
    target[h->target_len] = '\0';
    struct evhttp_uri *uri = evhttp_uri_parse_with_flags(target, EVHTTP_URI_NONCONFORMANT);
    free(target);
    h->target_ok = uri != NULL;
    return uri;
}

/* The route's limit for the body of a request whose target parsed, with
 * the 4 KiB rule for one without a valid bearer token (needs_token: the
 * body may pass 4 KiB, so the token is worth verifying). */
static uint64_t body_limit(const struct guard_frame *f, const struct head *h,
                           const struct evhttp_uri *uri, bool needs_token, bool *unauth)
{
    *unauth = false;
    const char *method = h->method >= 0 ? methods[h->method].name : "";
    const char *path = evhttp_uri_get_path(uri);
    uint64_t limit = DEFAULT_MAX_BODY;
    for (int i = 0; path && i < wb_nroutes; i++) {
        long long params[REQ_MAX_PARAMS];
        int np = 0;
        if (strcmp(wb_routes[i].method, method) == 0 &&
            route_match(wb_routes[i].pattern, path, params, &np)) {
            limit = wb_routes[i].max_body ? wb_routes[i].max_body : DEFAULT_MAX_BODY;
            break;
        }
    }
    if (limit <= GUARD_UNAUTH_MAX || !needs_token)
        return limit;
    /* the router's check: "Bearer " then the token (router.c) */
    bool ok = false;
    if (h->auth && h->auth_len > 7 && h->auth_len < 8192 && strncasecmp(h->auth, "Bearer ", 7) == 0) {
        char *tok = malloc(h->auth_len - 6);
        if (tok) {
            memcpy(tok, h->auth + 7, h->auth_len - 7);
            tok[h->auth_len - 7] = '\0';
            struct principal who;
            ok = token_verify_cached(f->tokens, f->secret, tok, (long long)clock_now(),
                                     &who) == 0;
            sodium_memzero(tok, h->auth_len - 7);
            free(tok);
        }
    }
    if (ok)
        return limit;
    *unauth = true;
    return GUARD_UNAUTH_MAX;
}

static void drop_held(struct guard_frame *f)
{
    if (f->hold)
        evbuffer_drain(f->hold, evbuffer_get_length(f->hold));
    if (f->body)
        evbuffer_drain(f->body, evbuffer_get_length(f->body));
}

static void request_done(struct guard_frame *f)
{
    f->st = F_HEAD;
    f->left = f->seen = f->limit = f->declared = f->given = 0;
    f->unauth = f->chunked = false;
    f->trailer = 0;
    drop_held(f);
}

void guard_frame_init(struct guard_frame *f, const char *secret, struct token_memo *tokens)
{
    memset(f, 0, sizeof *f);
    f->secret = secret;
    f->tokens = tokens;
    f->st = F_HEAD;
}

void guard_frame_release(struct guard_frame *f)
{
    if (f->hold)
        evbuffer_free(f->hold);
    if (f->body)
        evbuffer_free(f->body);
    f->hold = f->body = NULL;
}

void guard_frame_discard(struct guard_frame *f)
{
    f->st = F_DISCARD;
    f->held = 0;
    drop_held(f);
}

static int refuse_at_head(struct guard_frame *f, const struct head *h, const char *verdict,
                          struct evbuffer *in, struct evbuffer *out)
{
    if (emit_refusal(h, verdict, out) != 0)
        return -1;
    evbuffer_drain(in, evbuffer_get_length(in));
    guard_frame_discard(f);
    f->refused = true;
    return 0;
}

/* A whole head is p[0..n): decide, emit, and set up for the body. */
static int decide_head(struct guard_frame *f, const char *p, size_t n, struct evbuffer *in,
                       struct evbuffer *out)
{
    struct head h;
    char verdict[96];
    parse_head(p, n, &h);
    f->seq++;
    if (!h.bad && h.connect)
        return refuse_at_head(f, &h, "method", in, out);     /* as "GET /" */
    struct evhttp_uri *uri = h.bad == R_LINE || h.bad == R_VERSION ? NULL : parse_target(&h);
    if (!h.bad && !h.target_ok)
        h.bad = R_TARGET;
    if (!h.bad && h.method < 0) {
        evhttp_uri_free(uri);
        return refuse_at_head(f, &h, "method", in, out);
    }
    if (h.bad) {
        if (uri)
            evhttp_uri_free(uri);
        snprintf(verdict, sizeof verdict, "malformed %d", (int)h.bad);
        return refuse_at_head(f, &h, verdict, in, out);
    }
    bool has_body = h.chunked || h.cl > 0;
    bool unauth = false;
    uint64_t limit = has_body ? body_limit(f, &h, uri, h.chunked || h.cl > GUARD_UNAUTH_MAX,
                                           &unauth)
                              : 0;
    evhttp_uri_free(uri);
    if (has_body && !h.chunked && h.cl > limit) {
        if (emit_too_large(&h, p, n, limit, h.cl, unauth, out) != 0)
            return -1;
        evbuffer_drain(in, evbuffer_get_length(in));
        guard_frame_discard(f);
        f->refused = true;
        return 0;
    }
    f->limit = limit;
    f->unauth = unauth;
    if (h.chunked) {
        /* held until the last chunk: see the top */
        if ((!f->hold && !(f->hold = evbuffer_new())) || (!f->body && !(f->body = evbuffer_new())) ||
            evbuffer_add(f->hold, p, n) != 0)
            return -1;
        evbuffer_drain(in, n);
        f->chunked = true;
        f->st = F_CHUNK_SIZE;
        return 0;
    }
    size_t before = evbuffer_get_length(out);
    if (emit_head(&h, p, n, EMIT_PASS, out) != 0 || evbuffer_add(out, "\r\n", 2) != 0)
        return -1;
    evbuffer_drain(in, n);
    f->given = evbuffer_get_length(out) - before;
    if (!has_body) {
        request_done(f);
    } else {
        f->declared = f->left = h.cl;
        f->st = F_BODY;
    }
    return 0;
}

/* Collect a head in in; decide it once its empty line is there. */
static int frame_head(struct guard_frame *f, struct evbuffer *in, struct evbuffer *out,
                      bool *progress)
{
    *progress = false;
    /* empty lines before a request line are dropped (evhttp refuses them) */
    while (f->scan == 0) {
        size_t len = evbuffer_get_length(in);
        unsigned char c[2];
        if (len == 0 || evbuffer_copyout(in, c, len > 1 ? 2 : 1) < 1)
            break;
        size_t n = c[0] == '\n' ? 1 : (c[0] == '\r' && len > 1 && c[1] == '\n') ? 2 : 0;
        if (n == 0)
            break;
        evbuffer_drain(in, n);
        f->skipped += n;
        if (f->skipped > GUARD_HEAD_MAX)
            return refuse_at_head(f, NULL, "head-too-large", in, out);
    }
    size_t len = evbuffer_get_length(in);
    f->held = len;
    if (len == 0)
        return 0;
    size_t room = GUARD_HEAD_MAX - (f->skipped < GUARD_HEAD_MAX ? f->skipped : GUARD_HEAD_MAX);
    size_t avail = len < room ? len : room;
    const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)avail);
    if (!p)
        return -1;
    for (size_t i = f->scan; i < avail; i++) {
        if (p[i] != '\n')
            continue;
        size_t n = i - f->line;
        if (n && p[i - 1] == '\r')
            n--;
        if (n == 0 && f->line > 0) {
            size_t whole = i + 1;
            f->scan = f->line = f->skipped = f->held = 0;
            *progress = true;
            return decide_head(f, p, whole, in, out);
        }
        f->line = i + 1;
    }
    f->scan = avail;
    if (len <= room)
        return 0;
    /* no end within 32 KiB: keep the request line if it is whole and sound */
    struct head h;
    memset(&h, 0, sizeof h);
    const char *nl = memchr(p, '\n', avail);
    if (nl) {
        size_t ln = (size_t)(nl - p);
        if (ln && p[ln - 1] == '\r')
            ln--;
        h.line_ok = parse_request_line(p, ln, &h);
        if (h.line_ok && h.bad != R_VERSION && !h.connect) {
            struct evhttp_uri *uri = parse_target(&h);
            if (uri)
                evhttp_uri_free(uri);
        }
    }
    f->seq++;
    f->scan = f->line = f->skipped = 0;
    return refuse_at_head(f, nl ? &h : NULL, "head-too-large", in, out);
}

/* Parse a chunk-size line: 1-15 hex digits, optionally followed by an
 * extension (";..." or " ...", which the guard drops). */
static bool chunk_size(const char *s, size_t n, uint64_t *out)
{
    size_t i = 0;
    uint64_t v = 0;
    while (i < n && i < 16) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            break;
        v = v * 16 + (uint64_t)d;
        i++;
    }
    if (i == 0 || i > 15)
        return false;
    if (i < n && s[i] != ';' && s[i] != ' ' && s[i] != '\t')
        return false;
    for (size_t j = i; j < n; j++)
        if (is_ctl((unsigned char)s[j]) && s[j] != '\t')
            return false;
    *out = v;
    return true;
}

/* What a held (chunked) request becomes for evhttp: refused with
 * verdict, or, verdict NULL, passed with its decoded body. */
static int emit_held(struct guard_frame *f, const char *verdict, struct evbuffer *out)
{
    size_t n = evbuffer_get_length(f->hold);
    const char *p = (const char *)evbuffer_pullup(f->hold, -1);
    if (!p)
        return -1;
    struct head h;
    parse_head(p, n, &h);
    h.target_ok = true;                 /* it was checked when the head came */
    if (verdict && strncmp(verdict, "too-large", 9) == 0)
        return emit_too_large(&h, p, n, f->limit, 0, f->unauth, out);
    if (verdict)
        return emit_refusal(&h, verdict, out);
    if (emit_head(&h, p, n, EMIT_DECHUNKED, out) != 0 ||
        evbuffer_add_printf(out, "Content-Length: %zu\r\n\r\n", evbuffer_get_length(f->body)) < 0 ||
        evbuffer_add_buffer(out, f->body) != 0)
        return -1;
    return 0;
}

static int refuse_held(struct guard_frame *f, const char *verdict, struct evbuffer *in,
                       struct evbuffer *out)
{
    if (emit_held(f, verdict, out) != 0)
        return -1;
    evbuffer_drain(in, evbuffer_get_length(in));
    guard_frame_discard(f);
    f->refused = true;
    return 0;
}

/* Take one CRLF-terminated line of in into buf (without the CRLF):
 * 1, 0 when it is not whole yet, -1 when it is longer than max or ends
 * in a bare LF (chunked framing is CRLF only: RFC 9112 7.1). */
static int take_crlf_line(struct evbuffer *in, char *buf, size_t max, size_t *n)
{
    struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
    if (eol.pos < 0)
        return evbuffer_get_length(in) > max + 1 ? -1 : 0;
    size_t len = (size_t)eol.pos;
    if (len > max + 1 || evbuffer_remove(in, buf, len + 1) != (int)(len + 1))
        return -1;
    if (len == 0 || buf[len - 1] != '\r')
        return -1;
    *n = len - 1;
    return 1;
}

int guard_frame_feed(struct guard_frame *f, struct evbuffer *in, struct evbuffer *out)
{
    char line[CHUNK_LINE_MAX + 2];
    for (;;) {
        size_t len = evbuffer_get_length(in);
        switch (f->st) {
        case F_DISCARD:
            evbuffer_drain(in, len);
            f->held = 0;
            return 0;
        case F_HEAD: {
            bool progress;
            if (frame_head(f, in, out, &progress) != 0)
                return -1;
            if (!progress)
                return 0;
            continue;
        }
        case F_BODY: {
            f->held = 0;
            if (len == 0)
                return 0;
            size_t n = (uint64_t)len < f->left ? len : (size_t)f->left;
            if (evbuffer_remove_buffer(in, out, n) != (int)n)
                return -1;
            guard_frame_skip(f, n);
            continue;
        }
        case F_CHUNK_SIZE: {
            size_t n;
            uint64_t size;
            int got = take_crlf_line(in, line, CHUNK_LINE_MAX, &n);
            if (got == 0)
                return 0;
            if (got < 0 || !chunk_size(line, n, &size)) {
                snprintf(line, sizeof line, "malformed %d", R_CHUNK);
                return refuse_held(f, line, in, out);
            }
            if (size == 0) {
                f->st = F_TRAILER;
                continue;
            }
            f->seen += size;
            if (f->seen > f->limit)
                return refuse_held(f, "too-large", in, out);
            f->left = size;
            f->st = F_CHUNK_DATA;
            continue;
        }
        case F_CHUNK_DATA: {
            if (len == 0)
                return 0;
            size_t n = (uint64_t)len < f->left ? len : (size_t)f->left;
            if (evbuffer_remove_buffer(in, f->body, n) != (int)n)
                return -1;
            f->left -= n;
            if (f->left == 0)
                f->st = F_CHUNK_END;
            continue;
        }
        case F_CHUNK_END: {
            char crlf[2];
            if (len < 2)
                return 0;
            if (evbuffer_remove(in, crlf, 2) != 2 || crlf[0] != '\r' || crlf[1] != '\n') {
                snprintf(line, sizeof line, "malformed %d", R_CHUNK);
                return refuse_held(f, line, in, out);
            }
            f->st = F_CHUNK_SIZE;
            continue;
        }
        case F_TRAILER: {
            size_t n;
            int got = take_crlf_line(in, line, CHUNK_LINE_MAX, &n);
            if (got > 0)
                f->trailer += n + 2;
            if (got < 0 || f->trailer + (got == 0 ? len : 0) > TRAILER_MAX) {
                snprintf(line, sizeof line, "malformed %d", R_TRAILER);
                return refuse_held(f, line, in, out);
            }
            if (got == 0)
                return 0;
            if (n > 0)
                continue;                   /* trailer lines are dropped */
            if (emit_held(f, NULL, out) != 0)
                return -1;
            request_done(f);
            continue;
        }
        default:
            return -1;
        }
    }
}

uint64_t guard_frame_body_left(const struct guard_frame *f)
{
    return f->st == F_BODY ? f->left : 0;
}

void guard_frame_skip(struct guard_frame *f, uint64_t n)
{
    if (n > guard_frame_body_left(f))
        n = guard_frame_body_left(f);
    f->left -= n;
    f->given += n;
    if (f->st == F_BODY && f->left == 0)
        request_done(f);
}

void guard_frame_progress(const struct guard_frame *f, struct guard_progress *out)
{
    memset(out, 0, sizeof *out);
    out->seq = f->seq;
    out->given = f->given;
    switch (f->st) {
    case F_DISCARD:
        out->phase = GUARD_DISCARD;
        break;
    case F_HEAD:
        out->phase = f->held || f->skipped ? GUARD_HEAD : GUARD_IDLE;
        break;
    default:
        out->phase = GUARD_BODY;
        out->expect = f->chunked ? f->seen : f->declared;
        break;
    }
}

/* ================================================================ verdicts */

void guard_note_of(const struct evkeyvalq *headers, struct guard_note *out)
{
    memset(out, 0, sizeof *out);
    out->name = "";
    const char *v = evhttp_find_header(headers, MARKER);
    size_t nl = strlen(nonce);
    if (!v || !nl || strncmp(v, nonce, nl) != 0 || v[nl] != ' ')
        return;
    v += nl + 1;
    unsigned long long a = 0, b = 0;
    int c = 0, reason = 0;
    if (sscanf(v, "too-large %llu %llu %d", &a, &b, &c) == 3) {
        out->verdict = GUARD_TOO_LARGE;
        out->limit = a;
        out->declared = b;
        out->unauthenticated = c != 0;
        out->name = "guard:too-large";
    } else if (sscanf(v, "malformed %d", &reason) == 1) {
        out->verdict = GUARD_MALFORMED;
        out->why = reason > 0 && reason < R_COUNT ? reason_text[reason]
                                                  : "the request is malformed";
        out->name = "guard:malformed";
    } else if (strcmp(v, "head-too-large") == 0) {
        out->verdict = GUARD_HEAD_TOO_LARGE;
        out->why = "the request line and headers exceed 32768 bytes";
        out->name = "guard:head-too-large";
    } else if (strcmp(v, "method") == 0) {
        out->verdict = GUARD_BAD_METHOD;
        out->name = "guard:method";
    } else if (strcmp(v, "full") == 0) {
        out->verdict = GUARD_FULL;
        out->name = "guard:full";
    }
}

/* ================================================================ escaping */

/* Length of the UTF-8 character at s (RFC 3629: no overlong forms, no
 * surrogates, nothing past U+10FFFF, as jansson requires), 0 if none. */
static size_t utf8_char(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t v;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        v = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        v = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        v = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && v < 0x800) || (len == 4 && v < 0x10000) || v > 0x10ffff ||
        (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

static bool loggable(uint32_t cp)
{
    if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
        return false;
    /* line separators and the bidirectional controls, which can make a
     * log line read differently from what it holds */
    if (cp == 0x2028 || cp == 0x2029 || cp == 0x200e || cp == 0x200f ||
        (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
        return false;
    return true;
}

size_t guard_escape(const char *in, size_t n, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)in;
    size_t i = 0, o = 0;
    if (cap == 0)
        return 0;
    while (i < n) {
        uint32_t cp = 0;
        size_t len = utf8_char(s + i, n - i, &cp);
        bool plain = len > 0 && loggable(cp);
        size_t take = len ? len : 1;
        size_t need = plain ? take : 3 * take;
        if (o + need >= cap)
            break;
        for (size_t k = 0; k < take; k++) {
            if (plain) {
                out[o++] = (char)s[i + k];
            } else {
                out[o++] = '%';
                out[o++] = hex[s[i + k] >> 4];
                out[o++] = hex[s[i + k] & 15];
            }
        }
        i += take;
    }
    out[o] = '\0';
    return i;
}

/* ================================================================ connections */

struct guard {
    TAILQ_ENTRY(guard) link;
    struct guard_host *host;
    struct bufferevent *bev;          /* owned by evhttp once it took it */
    struct evbuffer_cb_entry *cb;     /* on_input, on bev's input */
    struct evbuffer *stash;           /* bytes the frame has not decided yet */
    struct event *timer;              /* hooking the close, then deadlines */
    struct guard_frame frame;
    bool hooked;                      /* the close callback is set; our ref dropped */
    bool in_cb;                       /* on_input is running (our own moves call it) */
    bool closing;
    enum guard_phase phase;           /* the phase the deadline belongs to */
    unsigned long seq;
    long long phase_ms;               /* when that phase began */
    long long extra_ms;               /* time evhttp was busy during it */
    long long deadline_ms;            /* 0: none */
    long long busy_ms;                /* evhttp busy since, 0: not */
    size_t wm;                        /* the read high-water mark set */
};

/* A socket closed by evhttp after refusing a request, kept open on a dup
 * of its descriptor to read and drop what the client still sends. */
struct lingering {
    TAILQ_ENTRY(lingering) link;
    struct guard_host *host;
    struct event *ev;
    int fd;
    long long until_ms;
};

struct guard_host {
    struct event_base *base;
    const struct config *cfg;
    struct token_memo *tokens;        /* the worker's, borrowed (token.h) */
    struct evbuffer *tmp, *out;       /* scratch, empty between calls */
    TAILQ_HEAD(, guard) all;
    TAILQ_HEAD(, lingering) lingering;
    int nlingering;
};

static void peer_name(struct guard *g, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = (int)bufferevent_getfd(g->bev);
    snprintf(buf, len, "-");
    if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
        return;
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, buf, (socklen_t)len);
    else if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, buf, (socklen_t)len);
}

/* End the connection the way a client hanging up would: evhttp reads
 * the EOF and frees it, and a request a handler still holds is detached
 * from it as evhttp does for any lost client. */
static void guard_close(struct guard *g, const char *why)
{
    if (g->closing)
        return;
    g->closing = true;
    char peer[64];
    peer_name(g, peer, sizeof peer);
    log_msg(LOG_WARN, "guard: closing the connection from %s: %s", peer, why);
    guard_frame_discard(&g->frame);
    evbuffer_drain(g->stash, evbuffer_get_length(g->stash));
    int fd = (int)bufferevent_getfd(g->bev);
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
    /* no high-water mark may keep the read event, and so the EOF, away */
    bufferevent_setwatermark(g->bev, EV_READ, 0, 0);
    g->wm = 0;
    g->deadline_ms = 0;
    if (g->hooked)
        evtimer_del(g->timer);
}

static void release(struct guard *g, bool drop_ref)
{
    struct guard_host *h = g->host;
    if (g->cb)
        evbuffer_remove_cb_entry(bufferevent_get_input(g->bev), g->cb);
    if (g->timer)
        event_free(g->timer);
    if (g->stash)
        evbuffer_free(g->stash);
    guard_frame_release(&g->frame);
    TAILQ_REMOVE(&h->all, g, link);
    atomic_fetch_sub(&open_connections, 1);
    if (drop_ref)
        bufferevent_decref(g->bev);
    free(g);
}

static void linger_end(struct lingering *l)
{
    struct guard_host *h = l->host;
    event_free(l->ev);
    close(l->fd);
    TAILQ_REMOVE(&h->lingering, l, link);
    h->nlingering--;
    free(l);
}

static void on_linger(evutil_socket_t fd, short what, void *arg)
{
    struct lingering *l = arg;
    bool done = clock_mono_ms() >= l->until_ms;
    if (!done && (what & EV_READ)) {
        char buf[16384];
        ssize_t n = recv((int)fd, buf, sizeof buf, 0);
        done = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
    }
    if (done)
        linger_end(l);
}

/* A lingering close (what web servers do after answering early): evhttp
 * closes the socket right after a refusal's answer, and bytes of the
 * refused body still arriving would make the kernel answer with a reset,
 * which can destroy the answer before the client reads it (Windows
 * clients discard it).  A dup keeps the socket open: evhttp's shutdown
 * still sends the FIN after the answer, and what the client sends is
 * read and dropped until it closes or LINGER_MS pass. */
static void linger(struct guard_host *h, int fd)
{
    if (fd < 0 || h->nlingering >= LINGER_MAX)
        return;
    int dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dupfd < 0)
        return;
    struct lingering *l = calloc(1, sizeof *l);
    struct timeval tick = { 0, 250 * 1000 };
    if (!l || !(l->ev = event_new(h->base, dupfd, EV_READ | EV_PERSIST, on_linger, l)) ||
        event_add(l->ev, &tick) != 0) {
        if (l && l->ev)
            event_free(l->ev);
        free(l);
        close(dupfd);
        return;
    }
    l->host = h;
    l->fd = dupfd;
    l->until_ms = clock_mono_ms() + LINGER_MS;
    TAILQ_INSERT_TAIL(&h->lingering, l, link);
    h->nlingering++;
}

static void on_closed(struct evhttp_connection *con, void *arg)
{
    (void)con;
    struct guard *g = arg;
    if (g->frame.refused && !g->closing)
        linger(g->host, (int)bufferevent_getfd(g->bev));
    release(g, false);
}

/* evhttp is working on an earlier request: its reading is off (a
 * handler has the request), or it has not yet taken what the guard gave
 * it beyond the unfinished request's own bytes. */
static bool evhttp_busy(struct guard *g)
{
    struct guard_progress p;
    guard_frame_progress(&g->frame, &p);
    return !(bufferevent_get_enabled(g->bev) & EV_READ) ||
           evbuffer_get_length(bufferevent_get_input(g->bev)) > p.given;
}

/* Until the close is hooked the timer is pending at 0 s for that, and
 * on_timer arms the deadline right after. */
static void arm(struct guard *g, long long ms)
{
    if (!g->hooked)
        return;
    struct timeval tv;
    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (ms % 1000) * 1000;
    if (evtimer_add(g->timer, &tv) != 0)
        guard_close(g, "cannot arm its deadline");
}

/* The deadline of the phase the frame is in (0: none); see the top. */
static long long deadline_of(const struct guard *g, const struct guard_progress *p)
{
    if (p->phase == GUARD_HEAD)
        return g->phase_ms + g->extra_ms + GUARD_HEAD_DEADLINE_MS;
    if (p->phase == GUARD_BODY)
        return g->phase_ms + g->extra_ms + BODY_GRACE_MS +
               (long long)(p->expect / BODY_MIN_RATE) * 1000 +
               (long long)(p->expect % BODY_MIN_RATE) * 1000 / BODY_MIN_RATE;
    return 0;
}

/* After each read: move the deadline with the request's phase, and set
 * the read high-water mark so that the socket is read only LOOKAHEAD
 * bytes beyond what the request being received needs. */
static void follow(struct guard *g)
{
    if (g->closing)
        return;
    struct guard_progress p;
    guard_frame_progress(&g->frame, &p);
    long long now = clock_mono_ms();
    if (p.phase != g->phase || p.seq != g->seq) {
        g->phase = p.phase;
        g->seq = p.seq;
        g->phase_ms = now;
        g->extra_ms = 0;
        g->busy_ms = 0;
    }
    long long dl = deadline_of(g, &p);
    if (dl != g->deadline_ms) {
        g->deadline_ms = dl;
        if (dl)
            arm(g, dl > now ? dl - now : 0);
        else if (g->hooked)
            evtimer_del(g->timer);
    }
    size_t wm = 0;
    if (p.phase != GUARD_DISCARD)
        wm = LOOKAHEAD + (size_t)p.given + (size_t)guard_frame_body_left(&g->frame);
    if (wm != g->wm) {
        bufferevent_setwatermark(g->bev, EV_READ, 0, wm);
        g->wm = wm;
    }
}

/* Runs inside bufferevent_readcb's evbuffer_read, before evhttp's read
 * callback: the new bytes are the last info->n_added of in.  Body bytes
 * the frame lets through stay where they are; the rest is taken out
 * (the bytes before it, which evhttp has not read yet, are put back),
 * framed, and what evhttp is to read is appended. */
static void on_input(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
    struct guard *g = arg;
    if (g->in_cb || info->n_added == 0)
        return;
    g->in_cb = true;
    struct guard_host *h = g->host;
    size_t n = info->n_added;
    uint64_t left = guard_frame_body_left(&g->frame);
    size_t keep = (uint64_t)n < left ? n : (size_t)left;
    guard_frame_skip(&g->frame, keep);
    if (keep < n) {
        size_t at = info->orig_size + keep;
        int rc = 0;
        if (at > 0 && evbuffer_remove_buffer(in, h->tmp, at) != (int)at)
            rc = -1;
        if (rc == 0 && evbuffer_add_buffer(g->stash, in) != 0)
            rc = -1;
        if (rc == 0 && at > 0 && evbuffer_add_buffer(in, h->tmp) != 0)
            rc = -1;
        if (rc == 0 && guard_frame_feed(&g->frame, g->stash, h->out) != 0)
            rc = -1;
        if (rc == 0 && evbuffer_add_buffer(in, h->out) != 0)
            rc = -1;
        evbuffer_drain(h->tmp, evbuffer_get_length(h->tmp));
        evbuffer_drain(h->out, evbuffer_get_length(h->out));
        if (rc != 0)
            guard_close(g, "out of memory");
    }
    follow(g);
    g->in_cb = false;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct guard *g = arg;
    if (!g->hooked) {
        /* evhttp_get_request has returned: the bufferevent's callback
         * argument is now its connection (or NULL if evhttp already
         * dropped it, out of memory). */
        void *con = NULL;
        bufferevent_getcb(g->bev, NULL, NULL, NULL, &con);
        if (!con) {
            release(g, true);
            return;
        }
        evhttp_connection_set_closecb(con, on_closed, g);
        g->hooked = true;
        bufferevent_decref(g->bev);
    }
    if (!g->deadline_ms || g->closing)
        return;
    long long now = clock_mono_ms();
    if (now < g->deadline_ms && !g->busy_ms) {
        arm(g, g->deadline_ms - now);
        return;
    }
    /* past it: time evhttp spends on an earlier request from here on is
     * the server's, not the client's (once it reads again, whatever the
     * client sent meanwhile is read at once) */
    if (evhttp_busy(g)) {
        if (!g->busy_ms)
            g->busy_ms = now;
        arm(g, BUSY_POLL_MS);
        return;
    }
    if (g->busy_ms) {
        g->extra_ms += now - g->busy_ms;
        g->busy_ms = 0;
        struct guard_progress p;
        guard_frame_progress(&g->frame, &p);
        g->deadline_ms = deadline_of(g, &p);
    }
    if (now < g->deadline_ms) {
        arm(g, g->deadline_ms - now);
        return;
    }
    char why[96];
    if (g->phase == GUARD_HEAD)
        snprintf(why, sizeof why, "headers not complete within %d ms", GUARD_HEAD_DEADLINE_MS);
    else
        snprintf(why, sizeof why, "body not complete within %lld ms", now - g->phase_ms);
    guard_close(g, why);
}

/* The connection cap's answer: a request of the guard's own, read by
 * evhttp before anything the client sends (which is dropped). */
static int inject_full(struct bufferevent *bev)
{
    struct evbuffer *in = bufferevent_get_input(bev);
    evbuffer_unfreeze(in, 0);
    int rc = evbuffer_add_printf(in, "GET / HTTP/1.1\r\n" MARKER ": %s full\r\n"
                                     "Connection: close\r\n\r\n", nonce) < 0 ? -1 : 0;
    evbuffer_freeze(in, 0);
    return rc;
}

static struct bufferevent *on_accept(struct event_base *base, void *arg)
{
    struct guard_host *h = arg;
    int open = atomic_fetch_add(&open_connections, 1) + 1;
    /* the options evhttp uses itself: it closes the socket */
    struct bufferevent *bev = bufferevent_socket_new(base, -1, 0);
    struct guard *g = bev ? calloc(1, sizeof *g) : NULL;
    if (g) {
        g->host = h;
        g->bev = bev;
        g->stash = evbuffer_new();
        g->timer = evtimer_new(base, on_timer, g);
        guard_frame_init(&g->frame, h->cfg->jwt_secret, h->tokens);
    }
    struct timeval zero = { 0, 0 };
    bool full = open > h->cfg->max_connections;
    if (!g || !g->stash || !g->timer || (full && inject_full(bev) != 0) ||
        !(g->cb = evbuffer_add_cb(bufferevent_get_input(bev), on_input, g)) ||
        evtimer_add(g->timer, &zero) != 0) {
        atomic_fetch_sub(&open_connections, 1);
        if (g) {
            if (g->cb)
                evbuffer_remove_cb_entry(bufferevent_get_input(bev), g->cb);
            if (g->timer)
                event_free(g->timer);
            if (g->stash)
                evbuffer_free(g->stash);
            free(g);
        }
        /* evhttp makes a bufferevent of its own for NULL, unguarded:
         * rather give it this one answering 503 at once */
        if (bev) {
            struct evbuffer *in = bufferevent_get_input(bev);
            if (evbuffer_get_length(in) == 0)
                (void)inject_full(bev);
        }
        log_msg(LOG_WARN, "guard: out of memory accepting a connection");
        return bev;
    }
    if (full)
        guard_frame_discard(&g->frame);
    /* until the close is hooked, our reference keeps bev valid even if
     * evhttp drops the connection at once */
    bufferevent_incref(bev);
    TAILQ_INSERT_TAIL(&h->all, g, link);
    g->wm = full ? 0 : LOOKAHEAD;
    if (g->wm)
        bufferevent_setwatermark(bev, EV_READ, 0, g->wm);
    return bev;
}

struct guard_host *guard_host_new(struct event_base *base, struct evhttp *http,
                                  const struct config *cfg, struct token_memo *tokens)
{
    struct guard_host *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->base = base;
    h->cfg = cfg;
    h->tokens = tokens;
    TAILQ_INIT(&h->all);
    TAILQ_INIT(&h->lingering);
    h->tmp = evbuffer_new();
    h->out = evbuffer_new();
    if (!h->tmp || !h->out) {
        guard_host_free(h);
        return NULL;
    }
    evhttp_set_bevcb(http, on_accept, h);
    return h;
}

void guard_host_free(struct guard_host *h)
{
    if (!h)
        return;
    struct guard *g;
    while ((g = TAILQ_FIRST(&h->all)) != NULL)
        release(g, !g->hooked);
    struct lingering *l;
    while ((l = TAILQ_FIRST(&h->lingering)) != NULL)
        linger_end(l);
    if (h->tmp)
        evbuffer_free(h->tmp);
    if (h->out)
        evbuffer_free(h->out);
    free(h);
}
