/* audit.c - see audit.h. */
#include "db/audit.h"
#include "db/db.h"

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
