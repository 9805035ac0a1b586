/* migrate.h - versioned schema migrations, compiled into the binaries.
 *
 * db/migrations/NNNN_name.sql become the wb_migrations[] table (generated
 * by scripts/embed-sql.sh at build time), applied in version order and
 * recorded in schema_migrations.  Each file is split on lines that end in
 * ';'; statements should be idempotent (IF NOT EXISTS), since MariaDB
 * cannot roll DDL back if a later statement of the same file fails. */
#ifndef WB_MIGRATE_H
#define WB_MIGRATE_H

#include <stddef.h>

struct db;

struct migration {
    int version;
    const char *name;
    const char *sql;
};

/* Terminated by an entry with name NULL. */
extern const struct migration wb_migrations[];

/* Apply every migration not yet recorded, under a named lock so two
 * processes migrating at once do not collide.  Returns the number applied
 * (0 when up to date) or -1 with a reason in err. */
int migrate_apply(struct db *d, char *err, size_t errlen);

/* Highest applied version, 0 when none, -1 on error. */
int migrate_current(struct db *d);

/* Highest version compiled in. */
int migrate_latest(void);

#endif
