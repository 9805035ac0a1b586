/* check_inspections.c - the invariants of inspections and settlements
 * (see check.h):
 *   inspection_paid    an inspection that paid points has one ledger row
 *                      of kind inspection for them, of its household; a
 *                      voided one that took points back has one
 *                      inspection_void row for what it took; no other
 *                      such rows exist
 *   settlement_once    a settled month that paid points has one ledger
 *                      row for them, of its household; no settlement row
 *                      of the ledger lacks its settlement
 * Each check is one statement, so it reads one consistent snapshot. */
#include "db/check.h"
#include "db/db.h"

#include <stdio.h>

static const char SQL_PAID[] =
    "SELECT i.household_id, i.id, i.points AS want, COUNT(l.seq) AS n, "
    "COALESCE(SUM(l.delta), 0) AS got FROM inspections i LEFT JOIN ledger l "
    "ON l.kind = 'inspection' AND l.ref_id = i.id AND l.memo = 'inspection' "
    "AND l.household_id = i.household_id GROUP BY i.id "
    "HAVING (want > 0 AND (n <> 1 OR got <> want)) OR (want = 0 AND n > 0) LIMIT 100";
static const char SQL_CLAWED[] =
    "SELECT i.household_id, i.id, COALESCE(i.clawed_back, 0) AS want, COUNT(l.seq) AS n, "
    "COALESCE(-SUM(l.delta), 0) AS got FROM inspections i LEFT JOIN ledger l "
    "ON l.kind = 'inspection_void' AND l.ref_id = i.id AND l.household_id = i.household_id "
    "GROUP BY i.id HAVING (want > 0 AND (n <> 1 OR got <> want)) OR (want = 0 AND n > 0) "
    "LIMIT 100";
static const char SQL_STRAY[] =
    "SELECT l.household_id, l.kind, l.ref_id FROM ledger l "
    "LEFT JOIN inspections i ON i.id = l.ref_id AND i.household_id = l.household_id "
    "LEFT JOIN inspection_settlements s ON s.id = l.ref_id AND s.household_id = l.household_id "
    "WHERE l.kind IN ('inspection', 'inspection_void') AND CASE WHEN l.memo LIKE 'settlement %' "
    "THEN s.id IS NULL ELSE i.id IS NULL END LIMIT 100";
static const char SQL_SETTLED[] =
    "SELECT s.household_id, s.month, s.points AS want, COUNT(l.seq) AS n, "
    "COALESCE(SUM(l.delta), 0) AS got FROM inspection_settlements s LEFT JOIN ledger l "
    "ON l.kind = 'inspection' AND l.ref_id = s.id AND l.household_id = s.household_id "
    "AND l.memo LIKE 'settlement %' GROUP BY s.household_id, s.month "
    "HAVING (want > 0 AND (n <> 1 OR got <> want)) OR (want = 0 AND n > 0) LIMIT 100";

static void add(json_t *v, long long hid, const char *rule, const char *detail)
{
    if (json_array_size(v) >= CHECK_MAX_VIOLATIONS)
        return;
    json_array_append_new(v, json_pack("{s:I, s:s, s:s}", "household_id", (json_int_t)hid,
                                       "rule", rule, "detail", detail));
}

/* Each row (household, what, expected, rows, sum) of sql as a violation
 * of rule, described by fmt. */
static int rows_as_violations(struct db *d, json_t *v, const char *sql, const char *rule,
                              const char *what)
{
    struct db_rows *r = db_query(d, sql, "");
    if (!r)
        return -1;
    char detail[256];
    while (db_rows_next(r)) {
        snprintf(detail, sizeof detail, "%s %s: %s points expected, %lld ledger rows summing to %lld",
                 what, db_rows_str(r, 1, NULL), db_rows_str(r, 2, NULL), db_rows_int(r, 3),
                 db_rows_int(r, 4));
        add(v, db_rows_int(r, 0), rule, detail);
    }
    db_rows_free(r);
    return 0;
}

int inspection_check(struct db *d, json_t *v)
{
    if (rows_as_violations(d, v, SQL_PAID, "inspection_paid", "inspection") != 0 ||
        rows_as_violations(d, v, SQL_CLAWED, "inspection_paid", "voided inspection") != 0 ||
        rows_as_violations(d, v, SQL_SETTLED, "settlement_once", "settled month") != 0)
        return -1;
    struct db_rows *r = db_query(d, SQL_STRAY, "");
    if (!r)
        return -1;
    char detail[160];
    while (db_rows_next(r)) {
        snprintf(detail, sizeof detail, "ledger row of kind %s names %lld, which it does not pay",
                 db_rows_str(r, 1, NULL), db_rows_int(r, 2));
        add(v, db_rows_int(r, 0), "inspection_paid", detail);
    }
    db_rows_free(r);
    return 0;
}
