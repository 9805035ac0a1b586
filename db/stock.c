/* stock.c - see stock.h. */
#include "db/stock.h"
#include "db/db.h"

static const char SQL_ON_HAND[] =
    "SELECT c.code, c.unit, COALESCE(s.on_hand, 0), COALESCE(s.shortfall, 0) FROM categories c "
    "LEFT JOIN site_stock s ON s.category_id = c.id AND s.site_id = ? ORDER BY c.id";
static const char SQL_MOVEMENTS[] =
    "SELECT m.id, c.code, m.delta, m.on_hand_after, m.kind, m.ref_id, "
    "UNIX_TIMESTAMP(m.created_at), m.local_day FROM stock_movements m "
    "JOIN categories c ON c.id = m.category_id WHERE m.site_id = ? AND m.id < ? "
    "AND (? = 0 OR m.category_id = ?) AND (? = '' OR m.local_day >= ?) "
    "AND (? = '' OR m.local_day <= ?) ORDER BY m.id DESC LIMIT ?";

struct db_rows *stock_on_hand(struct db *d, long long site_id)
{
    return db_query(d, SQL_ON_HAND, "i", site_id);
}

struct db_rows *stock_movements(struct db *d, long long site_id, long long category_id,
                                const char *from_day, const char *to_day, long long before,
                                int limit)
{
    return db_query(d, SQL_MOVEMENTS, "iiiissssi", site_id, before, category_id, category_id,
                    from_day, from_day, to_day, to_day, (long long)limit);
}
