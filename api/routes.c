/* routes.c - the route table: every path, who may call it, what body it
 * takes, and its handler.  The router checks roles from here before any
 * handler runs; handlers then check reach to each object (404 outside). */
#include "server/request.h"
#include "server/router.h"
#include "api/handlers.h"

#define KiB 1024
#define MiB (1024 * 1024)
#define HH_READERS (ROLES_ADMINS | ROLE_RESIDENT)
#define STOCK_READERS (ROLES_ADMINS | ROLE_ATTENDANT)
#define INSPECTION_READERS (ROLES_ADMINS | ROLE_INSPECTOR | ROLE_RESIDENT)

const struct route wb_routes[] = {
    /* operations: no token */
    { "GET", "/healthz", ROLES_PUBLIC, BODY_NONE, 0, h_healthz },
    { "GET", "/readyz", ROLES_PUBLIC, BODY_NONE, 0, h_readyz },
    { "GET", "/metrics", ROLES_PUBLIC, BODY_NONE, 0, h_metrics },

    /* auth */
    { "POST", "/v1/auth/login", ROLES_PUBLIC, BODY_JSON, 4 * KiB, h_auth_login },
    { "POST", "/v1/auth/resident", ROLES_PUBLIC, BODY_JSON, 4 * KiB, h_auth_resident },
    { "POST", "/v1/auth/logout", ROLES_ANY, BODY_NONE, 0, h_auth_logout },
    { "GET", "/v1/auth/me", ROLES_ANY, BODY_NONE, 0, h_auth_me },

    /* regions */
    { "POST", "/v1/regions", ROLES_ADMINS, BODY_JSON, 0, h_regions_create },
    { "GET", "/v1/regions/{id}", ROLES_STAFF, BODY_NONE, 0, h_regions_get },
    { "GET", "/v1/regions", ROLES_STAFF, BODY_NONE, 0, h_regions_list },
    { "PUT", "/v1/regions/{id}/scoring", ROLES_ADMINS, BODY_JSON, 0, h_regions_scoring_put },
    { "GET", "/v1/regions/{id}/scoring", ROLES_STAFF, BODY_NONE, 0, h_regions_scoring_get },
    { "GET", "/v1/regions/{id}/cards.pdf", ROLES_ADMINS, BODY_NONE, 0, h_regions_cards_pdf },

    /* staff */
    { "POST", "/v1/staff", ROLES_ADMINS, BODY_JSON, 0, h_staff_create },
    { "GET", "/v1/staff/{id}", ROLES_ADMINS, BODY_NONE, 0, h_staff_get },
    { "GET", "/v1/staff", ROLES_ADMINS, BODY_NONE, 0, h_staff_list },
    { "PATCH", "/v1/staff/{id}", ROLES_ADMINS, BODY_JSON, 0, h_staff_patch },

    /* sites and shops */
    { "POST", "/v1/sites", ROLES_ADMINS, BODY_JSON, 0, h_sites_create },
    { "GET", "/v1/sites/{id}", ROLES_STAFF, BODY_NONE, 0, h_sites_get },
    { "GET", "/v1/sites", ROLES_STAFF, BODY_NONE, 0, h_sites_list },
    { "POST", "/v1/shops", ROLES_ADMINS, BODY_JSON, 0, h_shops_create },
    { "GET", "/v1/shops", ROLES_ANY, BODY_NONE, 0, h_shops_list },
    { "GET", "/v1/shops/{id}", ROLES_ANY, BODY_NONE, 0, h_shops_get },
    { "POST", "/v1/shops/{id}/items", ROLES_ADMINS, BODY_JSON, 0, h_shop_items_create },
    { "GET", "/v1/shops/{id}/items", ROLES_ANY, BODY_NONE, 0, h_shop_items_list },
    { "PATCH", "/v1/shops/{id}/items/{item_id}", ROLES_ADMINS, BODY_JSON, 0, h_shop_items_patch },

    /* households and cards */
    { "POST", "/v1/households", ROLES_ADMINS, BODY_JSON, 0, h_households_create },
    { "GET", "/v1/households/{id}", HH_READERS, BODY_NONE, 0, h_households_get },
    { "GET", "/v1/households", ROLES_ADMINS, BODY_NONE, 0, h_households_search },
    { "POST", "/v1/households/import", ROLES_ADMINS, BODY_CSV, 16 * MiB, h_households_import },
    { "PATCH", "/v1/households/{id}", ROLES_ADMINS, BODY_JSON, 0, h_households_patch },
    { "POST", "/v1/households/{id}/card", ROLES_ADMINS, BODY_NONE, 0, h_households_card_reissue },
    { "GET", "/v1/households/{id}/card.png", HH_READERS, BODY_NONE, 0, h_households_card_png },
    { "GET", "/v1/households/{id}/card.svg", HH_READERS, BODY_NONE, 0, h_households_card_svg },
    { "PUT", "/v1/households/{id}/pin", HH_READERS, BODY_JSON, 0, h_households_pin },

    { "GET", "/v1/households/{id}/ledger", HH_READERS, BODY_NONE, 0, h_households_ledger },
    { "POST", "/v1/households/{id}/adjustments", ROLES_ADMINS, BODY_JSON, 0, h_households_adjust },

    /* categories and rates */
    { "GET", "/v1/categories", ROLES_ANY, BODY_NONE, 0, h_categories_list },
    { "POST", "/v1/categories", ROLE_ADMIN, BODY_JSON, 0, h_categories_create },
    { "POST", "/v1/rates", ROLES_ADMINS, BODY_JSON, 0, h_rates_create },
    { "GET", "/v1/rates", ROLES_ADMINS, BODY_NONE, 0, h_rates_list },

    /* scan and drop-offs */
    { "POST", "/v1/scan", ROLE_ATTENDANT | ROLE_CLERK, BODY_JSON, 0, h_scan },
    { "POST", "/v1/dropoffs", ROLE_ATTENDANT, BODY_JSON, 0, h_dropoffs_create },
    { "POST", "/v1/dropoffs/batch", ROLE_ATTENDANT, BODY_JSON, 1 * MiB, h_dropoffs_batch },
    { "GET", "/v1/dropoffs", ROLES_STAFF, BODY_NONE, 0, h_dropoffs_list },
    { "GET", "/v1/dropoffs/{id}", ROLES_STAFF, BODY_NONE, 0, h_dropoffs_get },
    { "POST", "/v1/dropoffs/{id}/reverse", ROLES_ADMINS, BODY_JSON, 0, h_dropoffs_reverse },

    /* the resident's own */
    { "GET", "/v1/residents/me", ROLE_RESIDENT, BODY_NONE, 0, h_residents_me },
    { "GET", "/v1/residents/me/balance", ROLE_RESIDENT, BODY_NONE, 0, h_residents_balance },
    { "GET", "/v1/residents/me/ledger", ROLE_RESIDENT, BODY_NONE, 0, h_residents_ledger },
    { "GET", "/v1/residents/me/dropoffs", ROLE_RESIDENT, BODY_NONE, 0, h_residents_dropoffs },
    { "GET", "/v1/residents/me/inspections", ROLE_RESIDENT, BODY_NONE, 0, h_residents_inspections },

    /* redemptions */
    { "POST", "/v1/residents/pay-code", ROLE_RESIDENT, BODY_NONE, 0, h_pay_code_create },
    { "GET", "/v1/residents/pay-code.png", ROLE_RESIDENT, BODY_NONE, 0, h_pay_code_png },
    { "POST", "/v1/redemptions", ROLE_CLERK, BODY_JSON, 0, h_redemptions_create },
    { "GET", "/v1/redemptions/summary", ROLES_ADMINS | ROLE_CLERK, BODY_NONE, 0, h_redemptions_summary },
    { "GET", "/v1/redemptions", ROLES_ADMINS | ROLE_CLERK, BODY_NONE, 0, h_redemptions_list },
    { "GET", "/v1/redemptions/{id}", ROLES_ADMINS | ROLE_CLERK, BODY_NONE, 0, h_redemptions_get },
    { "POST", "/v1/redemptions/{id}/void", ROLES_ADMINS | ROLE_CLERK, BODY_JSON, 0, h_redemptions_void },

    /* the three-tier chain */
    { "GET", "/v1/sites/{id}/stock", STOCK_READERS, BODY_NONE, 0, h_sites_stock },
    { "GET", "/v1/sites/{id}/stock/movements", STOCK_READERS, BODY_NONE, 0, h_sites_stock_movements },
    { "POST", "/v1/sites/{id}/stock-counts", STOCK_READERS, BODY_JSON, 0, h_sites_stock_counts },
    { "POST", "/v1/shipments", ROLE_ATTENDANT, BODY_JSON, 0, h_shipments_create },
    { "GET", "/v1/shipments", STOCK_READERS, BODY_NONE, 0, h_shipments_list },
    { "GET", "/v1/shipments/{id}", STOCK_READERS, BODY_NONE, 0, h_shipments_get },
    { "POST", "/v1/shipments/{id}/receive", ROLE_ATTENDANT, BODY_JSON, 0, h_shipments_receive },
    { "POST", "/v1/shipments/{id}/cancel", STOCK_READERS, BODY_JSON, 0, h_shipments_cancel },
    { "POST", "/v1/outbound", ROLE_ATTENDANT, BODY_JSON, 0, h_outbound_create },

    /* household sorting inspections (a photo rides in the body, base64) */
    { "POST", "/v1/inspections", ROLE_INSPECTOR, BODY_JSON, 1 * MiB, h_inspections_create },
    { "GET", "/v1/inspections", INSPECTION_READERS, BODY_NONE, 0, h_inspections_list },
    { "GET", "/v1/inspections/{id}", INSPECTION_READERS, BODY_NONE, 0, h_inspections_get },
    { "GET", "/v1/inspections/{id}/photo.jpg", INSPECTION_READERS, BODY_NONE, 0, h_inspections_photo },
    { "POST", "/v1/inspections/{id}/void", ROLES_ADMINS, BODY_JSON, 0, h_inspections_void },
    { "POST", "/v1/settlements/inspections", ROLES_ADMINS, BODY_JSON, 0, h_settlements_inspections },

    /* reports */
    { "GET", "/v1/reports/collection", ROLES_ADMINS, BODY_NONE, 0, h_reports_collection },
    { "GET", "/v1/reports/participation", ROLES_ADMINS, BODY_NONE, 0, h_reports_participation },
    { "GET", "/v1/reports/leaderboard", ROLES_ADMINS, BODY_NONE, 0, h_reports_leaderboard },
    { "GET", "/v1/reports/flows", ROLES_ADMINS, BODY_NONE, 0, h_reports_flows },
    { "GET", "/v1/reports/points", ROLES_ADMINS, BODY_NONE, 0, h_reports_points },
    { "GET", "/v1/reports/accuracy", ROLES_ADMINS, BODY_NONE, 0, h_reports_accuracy },
    { "GET", "/v1/reports/honour-roll", ROLES_ADMINS | ROLE_INSPECTOR, BODY_NONE, 0, h_reports_honour_roll },
    { "GET", "/v1/reports/ledger-check", ROLE_ADMIN, BODY_NONE, 0, h_reports_ledger_check },
};

const int wb_nroutes = (int)(sizeof wb_routes / sizeof wb_routes[0]);

/* Handlers that read Redis: the router reads what they need in the same
 * MGET as the token's revocation entries, so such a request waits on
 * Redis once (server/router.c). */
const struct route_prefetch wb_prefetch[] = {
    { h_residents_balance, PREFETCH_OWN_BALANCE },
};

const int wb_nprefetch = (int)(sizeof wb_prefetch / sizeof wb_prefetch[0]);
