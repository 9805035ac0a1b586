/* migrate.c - apply the compiled-in migrations in order. */
#include "db/migrate.h"
#include "db/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_CREATE_TABLE[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INT NOT NULL PRIMARY KEY,"
    " name VARCHAR(200) NOT NULL,"
    " applied_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";
static const char SQL_APPLIED[] =
    "SELECT COUNT(*) FROM schema_migrations WHERE version = ?";
static const char SQL_RECORD[] =
    "INSERT INTO schema_migrations (version, name) VALUES (?, ?)";
static const char SQL_CURRENT[] =
    "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
static const char SQL_LOCK[] = "SELECT GET_LOCK('wastebank_migrate', 60)";
static const char SQL_UNLOCK[] = "SELECT RELEASE_LOCK('wastebank_migrate')";

int migrate_latest(void)
{
    int v = 0;
    for (const struct migration *m = wb_migrations; m->name; m++)
        if (m->version > v)
            v = m->version;
    return v;
}

int migrate_current(struct db *d)
{
    long long v = 0;
    if (db_exec_raw(d, SQL_CREATE_TABLE) != 0)
        return -1;
    if (db_query_int(d, &v, SQL_CURRENT, "") < 0)
        return -1;
    return (int)v;
}

/* Run each ';'-terminated statement of one file. */
static int run_file(struct db *d, const struct migration *m, char *err, size_t errlen)
{
    size_t len = strlen(m->sql);
    char *buf = malloc(len + 1);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t n = 0;
    const char *p = m->sql;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t linelen = eol ? (size_t)(eol - p) : strlen(p);
        /* skip comment-only lines so a ';' inside a comment ends nothing */
        const char *q = p;
        while (q < p + linelen && (*q == ' ' || *q == '\t'))
            q++;
        bool comment = (size_t)(p + linelen - q) >= 2 && q[0] == '-' && q[1] == '-';
        if (!comment) {
            memcpy(buf + n, p, linelen);
            n += linelen;
            buf[n++] = '\n';
            size_t end = linelen;
            while (end > 0 && (p[end - 1] == ' ' || p[end - 1] == '\t' || p[end - 1] == '\r'))
                end--;
            if (end > 0 && p[end - 1] == ';') {
                buf[n] = '\0';
                if (db_exec_raw(d, buf) != 0) {
                    snprintf(err, errlen, "migration %04d_%s: %s", m->version,
                             m->name, db_error(d));
                    free(buf);
                    return -1;
                }
                n = 0;
            }
        }
        p += linelen;
        if (*p == '\n')
            p++;
    }
    /* trailing text without ';' that is not blank is an error in the file */
    for (size_t i = 0; i < n; i++)
        if (buf[i] != ' ' && buf[i] != '\n' && buf[i] != '\t' && buf[i] != '\r') {
            snprintf(err, errlen, "migration %04d_%s: statement without ';' at end of file",
                     m->version, m->name);
            free(buf);
            return -1;
        }
    free(buf);
    return 0;
}

int migrate_apply(struct db *d, char *err, size_t errlen)
{
    long long got = 0;
    if (db_exec_raw(d, SQL_CREATE_TABLE) != 0) {
        snprintf(err, errlen, "schema_migrations: %s", db_error(d));
        return -1;
    }
    if (db_query_int(d, &got, SQL_LOCK, "") < 0 || got != 1) {
        snprintf(err, errlen, "could not take the migration lock: %s", db_error(d));
        return -1;
    }
    int applied = 0;
    for (const struct migration *m = wb_migrations; m->name; m++) {
        long long have = 0;
        if (db_query_int(d, &have, SQL_APPLIED, "i", (long long)m->version) < 0) {
            snprintf(err, errlen, "schema_migrations: %s", db_error(d));
            applied = -1;
            break;
        }
        if (have)
            continue;
        if (run_file(d, m, err, errlen) != 0) {
            applied = -1;
            break;
        }
        if (db_exec(d, SQL_RECORD, "is", (long long)m->version, m->name) < 0) {
            snprintf(err, errlen, "recording migration %d: %s", m->version, db_error(d));
            applied = -1;
            break;
        }
        applied++;
    }
    long long ignored;
    (void)db_query_int(d, &ignored, SQL_UNLOCK, "");
    return applied;
}
