/* staff.h - the staff table: people who sign in with a password.
 *
 * Usernames are canonical: 1-64 of ASCII [a-z0-9_.-] (staff_username_canon).
 * The column's collation (utf8mb4_unicode_ci) would call "clerka",
 * "clérka", "ＣＬＥＲＫＡ" and "clerka " equal; keeping every stored and
 * looked-up name canonical makes "equal" mean "the same bytes".
 *
 * Every member records the subtree it reaches (reach_region_id), fixed
 * at creation and never wider than its creator's (api/staff.c); sign-in
 * puts it in the token's region claim, which is what every reach check
 * reads (api/reach.c). */
#ifndef WB_STAFF_H
#define WB_STAFF_H

#include <stdbool.h>
#include <stddef.h>

struct db;

#define STAFF_USERNAME_MAX 64
#define STAFF_PASSWORD_MAX_BYTES 1024   /* argon2 input; longer is refused, never cut */

struct staff {
    long long id;
    char username[STAFF_USERNAME_MAX + 1];
    char role[16];            /* admin region_admin attendant clerk */
    long long region_id;      /* 0 = none */
    long long site_id;
    long long shop_id;
    long long reach_region_id;  /* the subtree it reaches; 0 = none recorded */
    char display_name[401];   /* 100 characters of up to 4 bytes */
    char status[10];          /* active disabled */
    long long token_version;
    long long created_at;     /* epoch seconds */
    char region_path[256];    /* "" when the member has no region */
    char reach_path[256];     /* reach_region_id's path; "" when none */
    char password_hash[256];  /* argon2id string; never leaves the server */
};

/* Write the canonical form of name into out (cap >= STAFF_USERNAME_MAX + 1):
 * ASCII upper-case letters are lowered; true when the result is 1-64 of
 * [a-z0-9_.-], false otherwise (out then holds nothing usable).  Anything
 * else - non-ASCII letters, spaces, full-width forms - is refused, not
 * folded: folding is what let one account have many spellings. */
bool staff_username_canon(const char *name, char *out, size_t cap);

/* 1 found (filled), 0 none, -1 error (left on d).  staff_by_username
 * finds only a stored name byte-equal to username (pass a canonical one). */
int staff_by_username(struct db *d, const char *username, struct staff *out);
int staff_by_id(struct db *d, long long id, struct staff *out);

/* Insert; returns the new id or -1 (db_errkind DB_DUP: username taken).
 * s->password_hash must hold the hash.  The username is stored in its
 * canonical form (staff_username_canon); one that has none is a caller's
 * bug and returns -1 with no error on d.
 * s->reach_region_id is recorded as given; 0 for a member other than an
 * admin means "the widest its role allows", what an admin's creation gets
 * (wbctl's seed relies on it): its site's or shop's county for an
 * attendant or clerk, its own region for a region admin. */
long long staff_insert(struct db *d, const struct staff *s);

/* Change status / display name / password hash (each NULL = keep).  When
 * bump is true token_version moves on, killing every live token.  Returns
 * rows changed (0 or 1) or -1. */
long long staff_update(struct db *d, long long id, const char *status,
                       const char *display_name, const char *password_hash, bool bump);

#endif
