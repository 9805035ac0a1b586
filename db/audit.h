/* audit.h - the append-only audit log (triggers refuse UPDATE and DELETE).
 * Write it inside the transaction that makes the change, so the record and
 * the change commit together or not at all. */
#ifndef WB_AUDIT_H
#define WB_AUDIT_H

#include <jansson.h>

struct db;

struct audit_actor {
    const char *actor;        /* "s:12", "h:7", "cli" */
    const char *role;
    const char *remote;       /* client address */
    const char *request_id;
};

/* detail is borrowed (may be NULL) and must never hold secrets.
 * 0 or -1 (error left on d). */
int audit_write(struct db *d, const struct audit_actor *who, const char *action,
                const char *object_kind, long long object_id, json_t *detail);

/* The same INSERT as a statement of a batch (a ledger group's writes):
 * object_id, or when id_ref is not NULL the session variable naming a
 * new object.  0 or -1. */
struct db_batch;
int audit_add(struct db_batch *b, const struct audit_actor *who, const char *action,
              const char *object_kind, long long object_id, const char *id_ref,
              json_t *detail);

#endif
