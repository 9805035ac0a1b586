/* handlers.h - every route handler, one group per resource file. */
#ifndef WB_HANDLERS_H
#define WB_HANDLERS_H

struct req;

/* api/health.c */
void h_healthz(struct req *r);
void h_readyz(struct req *r);
void h_metrics(struct req *r);

/* api/auth.c */
void h_auth_login(struct req *r);
void h_auth_logout(struct req *r);
void h_auth_me(struct req *r);

#endif
