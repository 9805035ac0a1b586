/* router.h - the request entry point and the route table it serves. */
#ifndef WB_ROUTER_H
#define WB_ROUTER_H

#include <stdbool.h>

struct evhttp_request;
#include "server/request.h"

/* The route table (api/routes.c): every route, its roles and handler. */
extern const struct route wb_routes[];
extern const int wb_nroutes;

/* What handlers read from Redis (api/routes.c): a handler not listed
 * reads nothing there on the request path. */
extern const struct route_prefetch wb_prefetch[];
extern const int wb_nprefetch;

/* evhttp's generic callback; arg is the struct worker. */
void router_handle(struct evhttp_request *ev, void *arg);

/* Match path against pattern ("{name}" matches a positive integer and
 * fills params in order).  Exposed for the unit tests. */
bool route_match(const char *pattern, const char *path, long long *params, int *nparams);

#endif
