/* shipments.c - see shipments.h. */
#include "db/shipments.h"
#include "db/db.h"
#include "server/clock.h"

#include <stdio.h>
#include <string.h>

static const char SQL_GET[] =
    "SELECT s.id, s.from_site_id, s.to_site_id, s.status, UNIX_TIMESTAMP(s.sent_at), s.sent_by, "
    "COALESCE(UNIX_TIMESTAMP(s.received_at), 0), COALESCE(s.received_by, 0), "
    "COALESCE(UNIX_TIMESTAMP(s.cancelled_at), 0), COALESCE(s.cancelled_by, 0), s.vehicle, "
    "s.note, gf.path, gt.path, s.cancel_reason FROM shipments s "
    "JOIN sites f ON f.id = s.from_site_id JOIN regions gf ON gf.id = f.region_id "
    "JOIN sites t ON t.id = s.to_site_id JOIN regions gt ON gt.id = t.region_id WHERE s.id = ?";
static const char SQL_GET_LINES[] =
    "SELECT l.category_id, c.code, c.unit = 'item', l.sent, l.received FROM shipment_lines l "
    "JOIN categories c ON c.id = l.category_id WHERE l.shipment_id = ? ORDER BY l.line_no";
/* Either end under root; the direction names which end site_id is. */
static const char SQL_LIST[] =
    "SELECT s.id FROM shipments s "
    "JOIN sites f ON f.id = s.from_site_id JOIN regions gf ON gf.id = f.region_id "
    "JOIN sites t ON t.id = s.to_site_id JOIN regions gt ON gt.id = t.region_id "
    "WHERE (gf.path LIKE CONCAT(?, '%') OR gt.path LIKE CONCAT(?, '%')) "
    "AND (? = 0 OR (? <> 'in' AND s.from_site_id = ?) OR (? <> 'out' AND s.to_site_id = ?)) "
    "AND (? = '' OR s.status = ?) AND (? = '' OR s.sent_day >= ?) "
    "AND (? = '' OR s.sent_day <= ?) AND s.id < ? ORDER BY s.id DESC LIMIT ?";

static void copy_opt(struct db_rows *r, int col, bool *has, char *out, size_t size)
{
    *has = !db_rows_null(r, col);
    snprintf(out, size, "%s", *has ? db_rows_str(r, col, NULL) : "");
}

int shipment_get(struct db *d, long long id, struct shipment_rec *out)
{
    struct db_rows *r = db_query(d, SQL_GET, "i", id);
    if (!r)
        return -1;
    if (!db_rows_next(r)) {
        db_rows_free(r);
        return 0;
    }
    memset(out, 0, sizeof *out);
    out->id = db_rows_int(r, 0);
    out->from_site = db_rows_int(r, 1);
    out->to_site = db_rows_int(r, 2);
    snprintf(out->status, sizeof out->status, "%s", db_rows_str(r, 3, NULL));
    out->sent_at = db_rows_int(r, 4);
    out->sent_by = db_rows_int(r, 5);
    out->received_at = db_rows_int(r, 6);
    out->received_by = db_rows_int(r, 7);
    out->cancelled_at = db_rows_int(r, 8);
    out->cancelled_by = db_rows_int(r, 9);
    copy_opt(r, 10, &out->has_vehicle, out->vehicle, sizeof out->vehicle);
    copy_opt(r, 11, &out->has_note, out->note, sizeof out->note);
    snprintf(out->from_path, sizeof out->from_path, "%s", db_rows_str(r, 12, NULL));
    snprintf(out->to_path, sizeof out->to_path, "%s", db_rows_str(r, 13, NULL));
    copy_opt(r, 14, &out->has_cancel_reason, out->cancel_reason, sizeof out->cancel_reason);
    db_rows_free(r);
    if (!(r = db_query(d, SQL_GET_LINES, "i", id)))
        return -1;
    while (db_rows_next(r) && out->nlines < CHAIN_MAX_LINES) {
        struct shipment_line *l = &out->lines[out->nlines++];
        l->category_id = db_rows_int(r, 0);
        snprintf(l->code, sizeof l->code, "%s", db_rows_str(r, 1, NULL));
        l->per_item = db_rows_int(r, 2) != 0;
        l->sent = db_rows_int(r, 3);
        l->has_received = !db_rows_null(r, 4);
        l->received = db_rows_int(r, 4);
    }
    db_rows_free(r);
    return 1;
}

static json_t *time_or_null(long long t)
{
    char at[40];
    if (!t)
        return json_null();
    clock_format((time_t)t, at, sizeof at);
    return json_string(at);
}

static json_t *id_or_null(long long id)
{
    return id ? json_integer(id) : json_null();
}

json_t *shipment_json(const struct shipment_rec *s)
{
    json_t *lines = json_array();
    for (int i = 0; lines && i < s->nlines; i++) {
        const struct shipment_line *l = &s->lines[i];
        json_array_append_new(
            lines, json_pack("{s:s, s:s, s:I, s:o, s:o}", "category", l->code, "unit",
                             l->per_item ? "item" : "g", "sent", (json_int_t)l->sent,
                             "received", l->has_received ? json_integer(l->received) : json_null(),
                             "loss", l->has_received ? json_integer(l->sent - l->received)
                                                     : json_null()));
    }
    return json_pack("{s:I, s:I, s:I, s:s, s:o, s:o, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                     "id",
                     (json_int_t)s->id, "from_site_id", (json_int_t)s->from_site, "to_site_id",
                     (json_int_t)s->to_site, "status", s->status, "lines", lines, "sent_at",
                     time_or_null(s->sent_at), "sent_by", (json_int_t)s->sent_by, "received_at",
                     time_or_null(s->received_at), "received_by", id_or_null(s->received_by),
                     "cancelled_at", time_or_null(s->cancelled_at), "cancelled_by",
                     id_or_null(s->cancelled_by), "vehicle",
                     s->has_vehicle ? json_string(s->vehicle) : json_null(), "note",
                     s->has_note ? json_string(s->note) : json_null(), "cancel_reason",
                     s->has_cancel_reason ? json_string(s->cancel_reason) : json_null());
}

struct db_rows *shipment_list(struct db *d, const char *root, long long site_id,
                              const char *direction, const char *status, const char *from_day,
                              const char *to_day, long long before, int limit)
{
    const char *dir = direction ? direction : "";
    const char *st = status ? status : "";
    return db_query(d, SQL_LIST, "ssisisissssssii", root, root, site_id, dir, site_id, dir,
                    site_id, st, st, from_day, from_day, to_day, to_day, before,
                    (long long)limit);
}
