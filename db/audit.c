/* audit.c - see audit.h. */
#include "db/audit.h"
#include "db/db.h"
#include "db/batch.h"

#include <stdlib.h>

static const char SQL_INSERT[] =
    "INSERT INTO audit_log (actor, role, action, object_kind, object_id, remote, "
    "request_id, detail) VALUES (?, ?, ?, ?, NULLIF(?, 0), ?, ?, ?)";

int audit_write(struct db *d, const struct audit_actor *who, const char *action,
                const char *object_kind, long long object_id, json_t *detail)
{
    char *text = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    long long rc = db_exec(d, SQL_INSERT, "ssssisss", who->actor, who->role, action,
                           object_kind, object_id, who->remote ? who->remote : "",
                           who->request_id ? who->request_id : "", text);
    free(text);
    return rc < 0 ? -1 : 0;
}

int audit_add(struct db_batch *b, const struct audit_actor *who, const char *action,
              const char *object_kind, long long object_id, const char *id_ref,
              json_t *detail)
{
    char *text = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    struct db_param p[] = {
        { 's', 0, who->actor, 0 }, { 's', 0, who->role, 0 }, { 's', 0, action, 0 },
        { 's', 0, object_kind, 0 },
        id_ref ? (struct db_param){ 'r', 0, id_ref, 0 } : (struct db_param){ 'i', object_id, NULL, 0 },
        { 's', 0, who->remote ? who->remote : "", 0 },
        { 's', 0, who->request_id ? who->request_id : "", 0 },
        { text ? 's' : 'n', 0, text, 0 },
    };
    int rc = db_batch_add_params(b, SQL_INSERT, p, 8);   /* escapes text: freed now */
    free(text);
    return rc < 0 ? -1 : 0;
}
