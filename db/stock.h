/* stock.h - reading a site's stock ledger (台账): what is on hand per
 * category, and the movements that made it (db/chain.h moves it). */
#ifndef WB_STOCK_H
#define WB_STOCK_H

struct db;
struct db_rows;

/* Every category of the catalogue with the site's stock in it:
 * rows (code, unit, on_hand, shortfall), in category order.  NULL on error. */
struct db_rows *stock_on_hand(struct db *d, long long site_id);

/* The site's movements newest first, below `before`, limit rows, of one
 * category (0: all), filed on from_day..to_day ("" open): rows (id, code,
 * delta, on_hand_after, kind, ref_id, created_at epoch, local_day).
 * NULL on error. */
struct db_rows *stock_movements(struct db *d, long long site_id, long long category_id,
                                const char *from_day, const char *to_day, long long before,
                                int limit);

#endif
