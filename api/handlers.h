/* handlers.h - every route handler, one group per resource file. */
#ifndef WB_HANDLERS_H
#define WB_HANDLERS_H

#include <stdbool.h>

struct req;

/* api/health.c */
void h_healthz(struct req *r);
void h_readyz(struct req *r);
void h_metrics(struct req *r);

/* api/auth.c */
void h_auth_login(struct req *r);
void h_auth_logout(struct req *r);
void h_auth_me(struct req *r);

/* api/regions.c */
void h_regions_create(struct req *r);
void h_regions_get(struct req *r);
void h_regions_list(struct req *r);

/* api/staff.c */
void h_staff_create(struct req *r);
void h_staff_get(struct req *r);
void h_staff_list(struct req *r);
void h_staff_patch(struct req *r);

/* api/sites.c */
void h_sites_create(struct req *r);
void h_sites_get(struct req *r);
void h_sites_list(struct req *r);
void h_shops_create(struct req *r);
void h_shops_get(struct req *r);

/* api/households.c */
void h_households_create(struct req *r);
void h_households_get(struct req *r);
void h_households_search(struct req *r);
void h_households_patch(struct req *r);
void h_households_import(struct req *r);

/* api/cards.c */
void h_households_card_reissue(struct req *r);
void h_households_card_png(struct req *r);
void h_households_card_svg(struct req *r);
void h_regions_cards_pdf(struct req *r);

/* api/pins.c */
void h_households_pin(struct req *r);
/* True when pin follows the PIN rule (db/pin.h pin_acceptable); else
 * replies 400 invalid_request naming field and returns false. */
bool pin_acceptable_or_reply(struct req *r, const char *pin, const char *field);

/* api/scan.c */
void h_scan(struct req *r);
void h_auth_resident(struct req *r);
void h_residents_me(struct req *r);

/* api/dropoffs.c */
void h_dropoffs_create(struct req *r);
void h_dropoffs_batch(struct req *r);
void h_dropoffs_get(struct req *r);
void h_dropoffs_list(struct req *r);
void h_dropoffs_reverse(struct req *r);
/* The drop-off list; household_only != 0 restricts it to that household. */
void dropoffs_list(struct req *r, long long household_only);

/* api/points.c */
void h_categories_list(struct req *r);
void h_categories_create(struct req *r);
void h_rates_create(struct req *r);
void h_households_ledger(struct req *r);
void h_households_adjust(struct req *r);
void h_residents_ledger(struct req *r);
void h_residents_dropoffs(struct req *r);
void h_residents_balance(struct req *r);
void h_reports_ledger_check(struct req *r);

/* api/rates.c */
void h_rates_list(struct req *r);

/* api/shop_items.c */
void h_shop_items_create(struct req *r);
void h_shop_items_list(struct req *r);
void h_shop_items_patch(struct req *r);
void h_shops_list(struct req *r);

/* api/redemptions.c */
void h_pay_code_create(struct req *r);
void h_pay_code_png(struct req *r);
void h_redemptions_create(struct req *r);
void h_redemptions_void(struct req *r);
void h_redemptions_get(struct req *r);
void h_redemptions_list(struct req *r);
void h_redemptions_summary(struct req *r);

/* api/shipments.c */
void h_shipments_create(struct req *r);
void h_shipments_receive(struct req *r);
void h_shipments_cancel(struct req *r);
void h_shipments_get(struct req *r);
void h_shipments_list(struct req *r);

/* api/stock.c */
void h_sites_stock(struct req *r);
void h_sites_stock_movements(struct req *r);
void h_sites_stock_counts(struct req *r);
void h_outbound_create(struct req *r);

/* api/reports.c, api/report_flows.c */
void h_reports_collection(struct req *r);
void h_reports_participation(struct req *r);
void h_reports_leaderboard(struct req *r);
void h_reports_points(struct req *r);
void h_reports_accuracy(struct req *r);
void h_reports_honour_roll(struct req *r);

/* inspections, scoring rules, settlement */
void h_inspections_create(struct req *r);
void h_inspections_list(struct req *r);
void h_inspections_get(struct req *r);
void h_inspections_photo(struct req *r);
void h_inspections_void(struct req *r);
void h_residents_inspections(struct req *r);
void h_regions_scoring_put(struct req *r);
void h_regions_scoring_get(struct req *r);
void h_settlements_inspections(struct req *r);
void h_reports_flows(struct req *r);

/* Renderers shared between resource files. */
#include <jansson.h>
struct site;
struct shop;
json_t *site_json(const struct site *s);
json_t *shop_json(const struct shop *s);

#endif
