/* routes.c - the route table: every path, who may call it, what body it
 * takes, and its handler.  The router checks roles from here before any
 * handler runs; handlers then check reach to each object. */
#include "server/request.h"
#include "server/router.h"
#include "api/handlers.h"

#define KiB 1024

const struct route wb_routes[] = {
    /* operations: no token */
    { "GET", "/healthz", ROLES_PUBLIC, BODY_NONE, 0, h_healthz },
    { "GET", "/readyz", ROLES_PUBLIC, BODY_NONE, 0, h_readyz },
    { "GET", "/metrics", ROLES_PUBLIC, BODY_NONE, 0, h_metrics },

    /* auth */
    { "POST", "/v1/auth/login", ROLES_PUBLIC, BODY_JSON, 4 * KiB, h_auth_login },
    { "POST", "/v1/auth/logout", ROLES_ANY, BODY_NONE, 0, h_auth_logout },
    { "GET", "/v1/auth/me", ROLES_ANY, BODY_NONE, 0, h_auth_me },
};

const int wb_nroutes = (int)(sizeof wb_routes / sizeof wb_routes[0]);
