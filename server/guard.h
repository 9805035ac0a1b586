/* guard.h - the first reader of every byte a client sends.
 *
 * evhttp 2.1 buffers a whole request before any callback of ours runs,
 * knows one body limit for every path, answers its own refusals in HTML
 * and has no total deadline and no connection cap.  The guard sits in
 * front of it on each connection (evhttp_set_bevcb): an evbuffer
 * callback on the socket bufferevent's input sees each read before
 * evhttp's read callback does, frames the requests (request line and
 * headers up to 32 KiB, then a Content-Length or chunked body), and
 *
 *   - passes a request whose body fits its route's limit (4 KiB for a
 *     request without a bearer token whose signature and exp verify;
 *     revocation is the router's business), with any client-sent marker
 *     header stripped;
 *   - rewrites a request it refuses (body over the limit, malformed
 *     framing, headers over 32 KiB, a method evhttp does not know, the
 *     connection cap reached) into one evhttp reads without a body,
 *     carrying a marker header only the guard can set and Connection:
 *     close, and drops every later byte of the connection; the router
 *     reads the marker (guard_note_of) and answers in JSON through the
 *     one reply path, so the refusal is logged and counted;
 *   - closes the connection (shutdown, so evhttp sees an EOF) when the
 *     headers take more than 10 s from the request's first byte, or the
 *     body more than its deadline (see guard.c);
 *   - counts open connections per process, and answers connections over
 *     WB_MAX_CONNECTIONS with 503 at once.
 *
 * Only socket bufferevents are used: a bufferevent_filter in 2.1.12 does
 * not flush evhttp's answers (libevent #616), which a test showed.
 * Threads: a host and its guards belong to one worker's loop; the
 * connection count is atomic.  The guard owns each connection's close
 * callback (evhttp_connection_set_closecb): nothing else may set it. */
#ifndef WB_GUARD_H
#define WB_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct event_base;
struct evhttp;
struct evbuffer;
struct evkeyvalq;
struct token_memo;

#define GUARD_HEAD_MAX (32 * 1024)      /* request line + headers, raw bytes */
#define GUARD_UNAUTH_MAX (4 * 1024)     /* body of a request without a valid token */
#define GUARD_HEAD_DEADLINE_MS 10000    /* headers, from the request's first byte */

/* Once, before any worker starts (after sodium_init): draws the marker's
 * random nonce.  0, or -1 when the nonce cannot be drawn. */
int guard_init(void);

/* ---------------------------------------------------------------- connections */

struct guard_host;

/* Guard every connection http accepts from now on (evhttp_set_bevcb).
 * cfg and tokens (the worker's memo of verified tokens, token.h; NULL:
 * every token is verified in full) are borrowed for the host's life.
 * NULL when out of memory. */
struct guard_host *guard_host_new(struct event_base *base, struct evhttp *http,
                                  const struct config *cfg, struct token_memo *tokens);

/* After evhttp_free(http): release what is left (a guard whose
 * connection closed before it could hook the close).  NULL is fine. */
void guard_host_free(struct guard_host *h);

/* Client connections open in this process, over every worker. */
int guard_open_connections(void);

/* ---------------------------------------------------------------- verdicts */

enum guard_verdict {
    GUARD_PASS = 0,         /* no marker: the request is as the client sent it */
    GUARD_TOO_LARGE,        /* body over the limit: 413 at the body step */
    GUARD_MALFORMED,        /* framing refused: 400 before routing */
    GUARD_HEAD_TOO_LARGE,   /* request line + headers over 32 KiB: 400 before routing */
    GUARD_BAD_METHOD,       /* no HTTP method evhttp knows: 404/405 by routing */
    GUARD_FULL,             /* over WB_MAX_CONNECTIONS: 503 before routing */
};

struct guard_note {
    enum guard_verdict verdict;
    unsigned long long limit;       /* TOO_LARGE: the limit that applied */
    unsigned long long declared;    /* TOO_LARGE: Content-Length; 0 for chunked */
    bool unauthenticated;           /* TOO_LARGE: the 4 KiB rule applied */
    const char *why;                /* MALFORMED, HEAD_TOO_LARGE: a static sentence */
    const char *name;               /* a static word for the access log, "" for PASS */
};

/* What the guard decided about a request, from its input headers
 * (borrowed).  Fills *out; a missing or foreign marker reads as PASS. */
void guard_note_of(const struct evkeyvalq *headers, struct guard_note *out);

/* ---------------------------------------------------------------- framing
 * The per-connection state machine, exposed for the unit tests; the
 * connection code above is its only other user. */

enum guard_phase {
    GUARD_IDLE,             /* between requests, nothing held */
    GUARD_HEAD,             /* some of a request's head has arrived */
    GUARD_BODY,             /* the head passed; its body is arriving */
    GUARD_DISCARD,          /* a refusal went to evhttp: every byte is dropped */
};

struct guard_progress {
    enum guard_phase phase;
    unsigned long seq;      /* heads completed on this connection */
    uint64_t expect;        /* GUARD_BODY: body bytes announced so far */
    uint64_t given;         /* bytes of the unfinished request given to evhttp */
};

struct guard_frame {        /* the fields are the frame's own */
    int st;
    const char *secret;     /* WB_JWT_SECRET, borrowed */
    struct token_memo *tokens;      /* borrowed; NULL: no memo */
    struct evbuffer *hold, *body;   /* a chunked request being decoded */
    size_t scan, line, skipped, held, trailer;
    uint64_t left, seen, limit, declared, given;
    bool unauth, chunked, refused;
    unsigned long seq;
};

/* Start framing a connection; secret (borrowed) verifies bearer tokens,
 * through tokens (borrowed, token_verify_cached; NULL: in full each
 * time) - the router verifies the same token again on the same worker,
 * and then finds it there.  guard_frame_release frees what the frame
 * holds (a zeroed frame holds nothing). */
void guard_frame_init(struct guard_frame *f, const char *secret, struct token_memo *tokens);
void guard_frame_release(struct guard_frame *f);

/* Take bytes from in (everything that can be decided is drained; an
 * unfinished head or chunk line stays in it) and append to out what
 * evhttp is to read.  0, or -1 when a buffer operation failed (out of
 * memory: the connection must be closed). */
int guard_frame_feed(struct guard_frame *f, struct evbuffer *in, struct evbuffer *out);

/* Body bytes that may pass to evhttp untouched right now (0 when the
 * next byte must go through guard_frame_feed), and accounting for n of
 * them (n <= that number) without copying. */
uint64_t guard_frame_body_left(const struct guard_frame *f);
void guard_frame_skip(struct guard_frame *f, uint64_t n);

/* Drop every later byte (the connection is being refused or closed). */
void guard_frame_discard(struct guard_frame *f);

void guard_frame_progress(const struct guard_frame *f, struct guard_progress *out);

/* ---------------------------------------------------------------- logging */

/* Copy in[0..n) to out as text safe for a log line, percent-encoding
 * every byte that is not part of a valid UTF-8 character, every C0 and
 * C1 control, DEL, the line separators U+2028/9 and the bidirectional
 * controls; other characters (and '%') are copied as they are, so an
 * encoded URL means what it meant.  out is NUL-terminated and holds
 * whole escapes only; returns how many bytes of in it covers (all of
 * them when cap >= 3 * n + 1). */
size_t guard_escape(const char *in, size_t n, char *out, size_t cap);

#endif
