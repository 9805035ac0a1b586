/* reach.h - may this caller see that object?
 *
 * Every staff role has a subtree of the region tree: an admin the whole
 * tree, anyone else the subtree of the token's region claim, which is the
 * reach recorded for the member at its creation (staff.reach_region_id:
 * a region admin's own region; an attendant's or clerk's site's or shop's
 * county, capped at its creator's reach - api/staff.c).  A staff token
 * without a region claim reaches nothing unless it is an admin's.  An
 * object outside the caller's subtree does not exist for
 * it: 404, never 403, so ids cannot be probed.  A resident reaches only
 * its own household (checked by the household handlers). */
#ifndef WB_REACH_H
#define WB_REACH_H

#include <stdbool.h>

struct req;
struct db;
struct region;

/* The caller's subtree path ("/" for admins).  NULL on a store error
 * (no reply sent) or for residents. */
const char *reach_path(struct req *r, struct db *d);

/* Is region_id inside the caller's subtree?  1 yes (out filled when not
 * NULL), 0 no or no such region, -1 store error. */
int reach_region(struct req *r, struct db *d, long long region_id, struct region *out);

/* reach_region, replying 404 not_found (or the store error) on false. */
bool reach_region_or_reply(struct req *r, struct db *d, long long region_id,
                           struct region *out);

/* A site / shop named by a request (a body field or a list filter):
 * loaded into out when its region is in the caller's subtree; else reply
 * 404 not_found naming field (or the store error) and return false. */
struct site;
struct shop;
bool reach_site_or_reply(struct req *r, struct db *d, long long id, struct site *out,
                         const char *field);
bool reach_shop_or_reply(struct req *r, struct db *d, long long id, struct shop *out,
                         const char *field);

/* An attendant's own site, loaded into out; else reply 403 forbidden
 * (an attendant bound to no site) or the store error, and return false. */
bool own_site_or_reply(struct req *r, struct db *d, struct site *out);

/* Append an audit record for this request's caller (inside the caller's
 * transaction).  detail is borrowed.  0 or -1. */
#include <jansson.h>
int audit_req(struct req *r, struct db *d, const char *action, const char *kind,
              long long id, json_t *detail);

/* The worker's MariaDB connection, or reply 503 and return NULL. */
struct db *db_or_reply(struct req *r);

#endif
