/* wbctl seed-demo: a demo province with counties, towns, villages and
 * communities, sites of every tier, shops, about 200 households and staff
 * of every role, and a little of the chain at work: today's drop-offs at
 * the 竹林镇 point, a shipment of part of them to the county's transfer
 * station (received with a small loss), part of that on to the sorting
 * centre, and an outbound sale for recycling there.  Everything moves
 * through the ledger engine like any request.  Runs once (the province code
 * marks it); prints how to sign in, one line a role:
 * "role  username  password". */
#include "admin-tools/wbctl.h"
#include "server/config.h"
#include "server/pwpool.h"
#include "db/audit.h"
#include "db/catalog.h"
#include "db/chain.h"
#include "db/db.h"
#include "db/engine.h"
#include "db/households.h"
#include "db/ledger.h"
#include "db/pin.h"
#include "db/regions.h"
#include "db/shipments.h"
#include "db/shops.h"
#include "db/sites.h"
#include "db/staff.h"
#include "server/clock.h"
#include "qr/card.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEMO_PROVINCE_CODE "990000000000"

static const char SQL_SEEDED[] = "SELECT COUNT(*) FROM regions WHERE code = ?";
static const char SQL_ITEM[] =
    "INSERT INTO shop_items (shop_id, name, points, stock) VALUES (?, ?, ?, NULLIF(?, -1))";

/* The demo shop's shelf: name, points, stock (-1 = unlimited). */
static const struct {
    const char *name;
    long long points, stock;
} shelf[] = {
    { "洗衣粉 1kg", 300, 50 },
    { "食用油 1L", 500, 30 },
    { "香皂", 80, -1 },
    { "鸡蛋 10枚", 200, 100 },
};

static const char *const surnames[] = { "王", "李", "张", "刘", "陈", "杨", "黄", "赵",
                                        "吴", "周", "徐", "孙", "马", "朱", "胡", "郭" };
static const char *const given[] = { "秀英", "桂英", "建国", "建华", "志强", "丽娟", "海燕",
                                     "国庆", "春梅", "文军", "金凤", "玉兰", "德明", "小平" };

struct place {
    const char *name, *level, *code;
    int parent;          /* index into the same table, -1 = the province */
};

/* The demo tree under the province (index order = insert order). */
static const struct place tree[] = {
    { "绿源市", "city", "990100000000", -1 },                 /* 0 */
    { "青山县", "county", "990102000000", 0 },                /* 1 */
    { "清水县", "county", "990103000000", 0 },                /* 2 */
    { "竹林镇", "town", "990102101000", 1 },                  /* 3 */
    { "桃花镇", "town", "990102102000", 1 },                  /* 4 */
    { "河口镇", "town", "990103101000", 2 },                  /* 5 */
    { "上溪村", "village", "990102101201", 3 },               /* 6 */
    { "下溪村", "village", "990102101202", 3 },               /* 7 */
    { "桃源村", "village", "990102102201", 4 },               /* 8 */
    { "新城社区", "community", "990102102001", 4 },           /* 9 */
    { "河滨社区", "community", "990103101001", 5 },           /* 10 */
    { "渔村", "village", "990103101201", 5 },                 /* 11 */
};
#define NPLACES (sizeof tree / sizeof tree[0])

struct seed {
    long long province;
    long long ids[NPLACES];
    struct region regs[NPLACES];
    long long site_drop, site_transfer, site_sorting, shop;
    long long demo_household;
    long long households[200];
    char demo_pin[8];
    unsigned char pin_key[32];
};

static void random_pin(char out[8])
{
    do
        snprintf(out, 8, "%04u", (unsigned)randombytes_uniform(10000));
    while (!pin_acceptable(out));
}

static void random_password(char out[24])
{
    unsigned char raw[9];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(out, 24, raw, sizeof raw);
}

static int seed_tx(struct db *d, void *arg)
{
    struct seed *s = arg;
    struct region prov;
    s->province = region_insert(d, NULL, "示范省", "province", DEMO_PROVINCE_CODE);
    if (s->province < 0 || region_get(d, s->province, &prov) != 1)
        return -1;
    for (size_t i = 0; i < NPLACES; i++) {
        const struct region *parent = tree[i].parent < 0 ? &prov : &s->regs[tree[i].parent];
        s->ids[i] = region_insert(d, parent, tree[i].name, tree[i].level, tree[i].code);
        if (s->ids[i] < 0 || region_get(d, s->ids[i], &s->regs[i]) != 1)
            return -1;
    }
    struct site site = { .region_id = s->ids[3], .has_geo = true, .lat_e6 = 29137000,
                         .lng_e6 = 118412000 };
    snprintf(site.name, sizeof site.name, "竹林镇两网融合回收点");
    snprintf(site.tier, sizeof site.tier, "dropoff");
    snprintf(site.network, sizeof site.network, "integrated");
    snprintf(site.address, sizeof site.address, "竹林镇中心街8号");
    if ((s->site_drop = site_insert(d, &site)) < 0)
        return -1;
    site.region_id = s->ids[1];
    site.has_geo = false;
    snprintf(site.name, sizeof site.name, "青山县再生资源中转站");
    snprintf(site.tier, sizeof site.tier, "transfer");
    snprintf(site.network, sizeof site.network, "recycling");
    snprintf(site.address, sizeof site.address, "青山县工业园区3号");
    if ((s->site_transfer = site_insert(d, &site)) < 0)
        return -1;
    site.region_id = s->ids[1];              /* shipments stay inside a county */
    snprintf(site.name, sizeof site.name, "青山县分拣中心");
    snprintf(site.tier, sizeof site.tier, "sorting");
    snprintf(site.network, sizeof site.network, "integrated");
    snprintf(site.address, sizeof site.address, "青山县环卫路1号");
    if ((s->site_sorting = site_insert(d, &site)) < 0)
        return -1;
    struct shop shop = { .region_id = s->ids[3] };
    snprintf(shop.name, sizeof shop.name, "竹林镇便民超市");
    snprintf(shop.address, sizeof shop.address, "竹林镇中心街12号");
    if ((s->shop = shop_insert(d, &shop)) < 0)
        return -1;
    for (size_t i = 0; i < sizeof shelf / sizeof shelf[0]; i++)
        if (db_exec(d, SQL_ITEM, "isii", s->shop, shelf[i].name, shelf[i].points,
                    shelf[i].stock) < 0)
            return -1;

    /* about 200 households over the villages and communities */
    for (int i = 0; i < 200; i++) {
        size_t place = 6 + (size_t)i % (NPLACES - 6);
        struct household h = { .region_id = s->ids[place], .members = 1 + i % 5 };
        snprintf(h.head_name, sizeof h.head_name, "%s%s",
                 surnames[randombytes_uniform(sizeof surnames / sizeof surnames[0])],
                 given[randombytes_uniform(sizeof given / sizeof given[0])]);
        snprintf(h.address, sizeof h.address, "%s%d号", tree[place].name, 1 + i / 6);
        if (i % 3 == 0) {
            h.has_phone = true;
            snprintf(h.phone, sizeof h.phone, "139%08u", (unsigned)randombytes_uniform(100000000));
        }
        long long id = household_insert(d, &h);
        if (id < 0)
            return -1;
        s->households[i] = id;
        if (i == 0) {
            s->demo_household = id;
            if (pin_store(d, id, s->demo_pin, s->pin_key) != 0)
                return -1;
        }
    }
    struct audit_actor who = { "cli", "admin", "local", "" };
    return audit_write(d, &who, "demo.seed", "region", s->province, NULL);
}

/* A key's fingerprint: the demo's requests are its own, so the key says
 * all there is to say. */
static void demo_fp(const char *key, unsigned char fp[IDEM_FP_BYTES])
{
    crypto_generichash(fp, IDEM_FP_BYTES, (const unsigned char *)key, strlen(key), NULL, 0);
}

/* Today's drop-offs of the households in 竹林镇's villages (every sixth and
 * the one after it), paper and PET bottles.  Returns the grams of paper and
 * the bottles credited. */
static void demo_dropoffs(struct db *d, const struct seed *s, long long attendant,
                          long long *paper, long long *bottles)
{
    const struct category *cp, *cb;
    if (catalog_find(d, "paper", &cp) != 1 || catalog_find(d, "pet_bottle", &cb) != 1)
        die(1, "the demo needs the standard categories paper and pet_bottle");
    static struct dropoff_in in[LEDGER_GROUP_MAX];
    static char keys[LEDGER_GROUP_MAX][32];
    const struct dropoff_in *pin[LEDGER_GROUP_MAX];
    struct ledger_answer ans[LEDGER_GROUP_MAX];
    int rc[LEDGER_GROUP_MAX], n = 0;
    char scope[32], actor[32];
    snprintf(scope, sizeof scope, "site:%lld", s->site_drop);
    snprintf(actor, sizeof actor, "s:%lld", attendant);
    long long now = (long long)clock_now();
    *paper = *bottles = 0;
    for (int i = 0; i < 200 && n < LEDGER_GROUP_MAX; i++) {
        if (i % 6 > 1)
            continue;                          /* 上溪村 and 下溪村 are in 竹林镇 */
        struct dropoff_in *x = &in[n];
        memset(x, 0, sizeof *x);
        snprintf(keys[n], sizeof keys[n], "demo-dropoff-%d", i);
        x->scope = scope;
        x->key = keys[n];
        demo_fp(keys[n], x->fp);
        x->site_id = s->site_drop;
        x->attendant_id = attendant;
        x->household_id = s->households[i];
        x->card_gen = 1;
        x->reach = "/";
        x->recorded_at = now;
        clock_local_day((time_t)now, x->local_day, sizeof x->local_day);
        memcpy(x->arrival_day, x->local_day, sizeof x->arrival_day);
        x->arrival_cap_days = wbctl_config()->cap_arrival_days;
        x->actor = actor;
        dropoff_line_set(&x->lines[0], cp, 800 + 150 * (i % 17));
        dropoff_line_set(&x->lines[1], cb, 3 + i % 12);
        x->nlines = 2;
        pin[n++] = x;
    }
    ledger_dropoffs(d, pin, n, ans, rc);
    for (int k = 0; k < n; k++) {
        if (rc[k] != LEDGER_OK || ans[k].status != 201)
            die(1, "a demo drop-off failed (%d, status %d): %s", rc[k], ans[k].status,
                db_error(d));
        *paper += in[k].lines[0].qty;
        *bottles += in[k].lines[1].qty;
        ledger_answer_release(&ans[k]);
    }
}

/* Run one chain operation and return its new object's id. */
static long long demo_run(struct db *d, struct ledger_op *op, const char *what)
{
    struct ledger_op *ops[1] = { op };
    ledger_engine_run(d, ops, 1);
    if (op->rc != LEDGER_OK || (op->ans.status != 200 && op->ans.status != 201))
        die(1, "the demo %s failed (%d, status %d): %s", what, op->rc, op->ans.status,
            db_error(d));
    json_t *id = json_object_get(op->ans.body, "id");
    long long v = json_is_integer(id) ? (long long)json_integer_value(id) : 0;
    ledger_answer_release(&op->ans);
    return v;
}

/* Ship lines from one site to another (as from_staff, under key) and
 * receive them there (as to_staff) with keep_pct percent of each weight
 * arriving; items arrive whole.  received[i] says what arrived. */
static void demo_ship(struct db *d, long long from_site, long long to_site, long long from_staff,
                      long long to_staff, const struct chain_line *lines, int n,
                      const char *key, const char *vehicle, int keep_pct, long long *received)
{
    struct shipment_in in = { .key = key, .vehicle = vehicle };
    char scope[32];
    snprintf(scope, sizeof scope, "site:%lld", from_site);
    in.scope = scope;
    demo_fp(in.key, in.fp);
    in.from_site_id = from_site;
    in.to_site_id = to_site;
    in.staff_id = from_staff;
    in.now = (long long)clock_now();
    clock_local_day((time_t)in.now, in.local_day, sizeof in.local_day);
    memcpy(in.lines, lines, (size_t)n * sizeof *lines);
    in.nlines = n;
    struct ledger_op op;
    chain_ship_op(&op, &in);
    long long id = demo_run(d, &op, "shipment");
    struct shipment_rec *rec = calloc(1, sizeof *rec);
    if (!rec || shipment_get(d, id, rec) != 1)
        die(1, "cannot read the demo shipment: %s", db_error(d));
    struct shipment_act act = { .rec = rec, .staff_id = to_staff, .now = (long long)clock_now() };
    clock_local_day((time_t)act.now, act.local_day, sizeof act.local_day);
    for (int i = 0; i < rec->nlines; i++)
        act.received[i] = rec->lines[i].per_item ? rec->lines[i].sent
                                                 : rec->lines[i].sent * keep_pct / 100;
    chain_receive_op(&op, &act);
    demo_run(d, &op, "receipt");
    for (int i = 0; i < rec->nlines && i < n; i++)
        received[i] = act.received[i];
    free(rec);
}

static struct chain_line demo_line(const struct category *c, long long qty)
{
    struct chain_line l = { .category_id = c->id, .per_item = c->per_item, .qty = qty };
    snprintf(l.code, sizeof l.code, "%s", c->code);
    return l;
}

/* The chain at work: most of the paper and every bottle go to the
 * transfer station, which weighs 1 % less paper on arrival; from there
 * most of it goes on to the sorting centre, which sells most of the paper
 * for recycling.  So the flows report has every tier to show. */
static void demo_chain(struct db *d, const struct seed *s, long long drop_staff,
                       long long transfer_staff, long long sorting_staff, long long paper,
                       long long bottles)
{
    const struct category *cp, *cb;
    if (catalog_find(d, "paper", &cp) != 1 || catalog_find(d, "pet_bottle", &cb) != 1)
        die(1, "the demo needs the standard categories paper and pet_bottle");
    struct chain_line lines[2] = { demo_line(cp, paper * 3 / 4), demo_line(cb, bottles) };
    long long got[2];
    demo_ship(d, s->site_drop, s->site_transfer, drop_staff, transfer_staff, lines, 2,
              "demo-shipment", "冀R·35721", 99, got);
    lines[0] = demo_line(cp, got[0] * 2 / 3);
    lines[1] = demo_line(cb, got[1] / 2);
    long long sorted[2];
    demo_ship(d, s->site_transfer, s->site_sorting, transfer_staff, sorting_staff, lines, 2,
              "demo-shipment-2", "冀R·08216", 100, sorted);
    struct outbound_in out = { .key = "demo-outbound", .buyer = "青山县再生资源利用有限公司",
                               .disposition = "recycled" };
    char scope[32];
    snprintf(scope, sizeof scope, "site:%lld", s->site_sorting);
    out.scope = scope;
    demo_fp(out.key, out.fp);
    out.site_id = s->site_sorting;
    out.staff_id = sorting_staff;
    out.now = (long long)clock_now();
    clock_local_day((time_t)out.now, out.local_day, sizeof out.local_day);
    out.lines[0] = demo_line(cp, sorted[0] * 4 / 5);
    out.nlines = 1;
    struct ledger_op op;
    chain_outbound_op(&op, &out);
    demo_run(d, &op, "outbound");
}

static long long add_staff(struct db *d, const char *username, const char *role,
                           long long region, long long site, long long shop, char pw[24])
{
    struct staff st = { .region_id = region, .site_id = site, .shop_id = shop };
    snprintf(st.username, sizeof st.username, "%s", username);
    snprintf(st.role, sizeof st.role, "%s", role);
    snprintf(st.display_name, sizeof st.display_name, "%s", username);
    random_password(pw);
    if (pw_hash_now(pw, st.password_hash) != 0)
        die(1, "cannot hash a password");
    long long id = staff_insert(d, &st);
    if (id < 0 && db_errkind(d) == DB_DUP)
        die(1, "username '%s' is taken: the demo staff exist already", username);
    if (id < 0)
        die(1, "cannot create '%s': %s", username, db_error(d));
    return id;
}

int cmd_seed_demo(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct db *d = wbctl_db();
    long long n = 0;
    if (db_query_int(d, &n, SQL_SEEDED, "s", DEMO_PROVINCE_CODE) < 0)
        die(1, "%s", db_error(d));
    if (n) {
        fprintf(stderr, "wbctl: the demo province exists already; nothing to do\n");
        db_close(d);
        return 0;
    }
    struct seed *s = calloc(1, sizeof *s);
    if (!s)
        die(1, "out of memory");
    const struct config *cfg = wbctl_config();
    pin_key_derive(cfg->pin_secret[0] ? cfg->pin_secret : cfg->qr_secret, s->pin_key);
    random_pin(s->demo_pin);
    if (db_tx(d, seed_tx, s) != 0)
        die(1, "seeding failed: %s", db_error(d));

    char pw_ra[24], pw_att[24], pw_clerk[24], pw_tr[24], pw_so[24];
    add_staff(d, "qingshan_admin", "region_admin", s->ids[1], 0, 0, pw_ra);
    long long att = add_staff(d, "zhulin_attendant", "attendant", s->ids[3], s->site_drop, 0,
                              pw_att);
    add_staff(d, "zhulin_clerk", "clerk", s->ids[3], 0, s->shop, pw_clerk);
    long long tr = add_staff(d, "qingshan_transfer", "attendant", s->ids[1], s->site_transfer, 0,
                             pw_tr);
    long long so = add_staff(d, "qingshan_sorting", "attendant", s->ids[1], s->site_sorting, 0,
                             pw_so);
    char pw_in[24];
    long long inspector = add_staff(d, "shangxi_inspector", "inspector", s->ids[6], 0, 0, pw_in);
    /* points to spend at the demo shop, through the ledger like any other */
    struct audit_actor cli = { "cli", "admin", "local", "" };
    struct adjust_in adj = { .scope = "cli", .key = "demo-welcome", .household_id = s->demo_household,
                             .points = 1000, .reason = "demo welcome points", .actor = "cli",
                             .who = &cli };
    struct ledger_answer ans;
    if (ledger_adjust(d, &adj, &ans) != LEDGER_OK || ans.status != 201)
        die(1, "cannot credit the demo household: %s", db_error(d));
    ledger_answer_release(&ans);
    long long paper, bottles;
    demo_dropoffs(d, s, att, &paper, &bottles);
    demo_chain(d, s, att, tr, so, paper, bottles);
    long long village[40];
    int nv = 0;
    for (int i = 0; i < 200 && nv < 40; i += 6)      /* i % 6 == 0: 上溪村 */
        village[nv++] = s->households[i];
    seed_demo_inspections(d, &s->regs[6], inspector, village, nv);
    char code[CARD_MAX];
    struct household h;
    if (household_get(d, s->demo_household, &h, false) != 1)
        die(1, "cannot read the demo household");
    card_encode(cfg->qr_secret, h.id, h.card_gen, code);
    printf("region_admin  qingshan_admin  %s\n", pw_ra);
    printf("attendant  zhulin_attendant  %s\n", pw_att);
    printf("clerk  zhulin_clerk  %s\n", pw_clerk);
    printf("attendant  qingshan_transfer  %s\n", pw_tr);
    printf("attendant  qingshan_sorting  %s\n", pw_so);
    printf("inspector  shangxi_inspector  %s\n", pw_in);
    printf("resident  card %s  PIN %s\n", code, s->demo_pin);
    sodium_memzero(s, sizeof *s);
    free(s);
    db_close(d);
    return 0;
}
