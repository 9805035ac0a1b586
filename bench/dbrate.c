/* dbrate - the raw rate of a MariaDB transaction, for `make bench`.
 *
 *   dbrate [--clients N] [--seconds S] insert
 *   dbrate [--clients N] [--seconds S] dropoff --village ID --site ID
 *          --attendant ID --category CODE [--group N]
 *
 * "insert": BEGIN; INSERT one row; COMMIT - the single-row transaction
 * that bounds anything the server can acknowledge durably.
 * "dropoff": the drop-off transaction itself (db/dropoff.c, the very code
 * the server runs), one paid line, a unique key each, on a random
 * household of the village - what the server does minus HTTP, JSON and
 * authentication.  With --group N each transaction credits N drop-offs
 * together, as the server does with the drop-offs a worker reads in one
 * turn; tx then counts drop-offs.
 * "redeem": the redemption transaction (db/redeem.c): card and PIN
 * consent, one point, on a random household of the village that has a
 * PIN (the bench's PIN is 4821) - needs --shop and --clerk.
 * Each client is a thread with its own connection, as the server's workers
 * are.  Prints one line: "MODE clients=N tx=T seconds=S rate=R/s p50=Xms
 * p99=Yms".  Reads the WB_DB_* configuration like wbctl. */
#include "server/clock.h"
#include "server/config.h"
#include "db/balance.h"
#include "db/cache.h"
#include "db/catalog.h"
#include "db/db.h"
#include "db/ledger.h"
#include "db/pin.h"
#include "db/redeem.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SAMPLES 2000000

static struct config cfg;
static atomic_int stop;
static const char *mode;

static const char SQL_TABLE[] =
    "CREATE TABLE IF NOT EXISTS bench_tx (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, "
    "client INT NOT NULL, n BIGINT NOT NULL, at DATETIME(6) NOT NULL DEFAULT "
    "CURRENT_TIMESTAMP(6)) ENGINE=InnoDB";
static const char SQL_INSERT[] = "INSERT INTO bench_tx (client, n) VALUES (?, ?)";
static const char SQL_HOUSEHOLDS[] = "SELECT id FROM households WHERE region_id = ? ORDER BY id";
static const char SQL_PIN_HOUSEHOLDS[] =
    "SELECT id FROM households WHERE region_id = ? AND pin_hash IS NOT NULL ORDER BY id";
static long long shop, clerk;
static unsigned char pin_key[PIN_KEY_BYTES];

/* dropoff mode */
static long long village, site, attendant;
static const char *category;
static int group = 1;            /* drop-offs a transaction */
static long long *households;
static long long nhouseholds;
static char run_tag[16];

struct client {
    int index;
    pthread_t thread;
    long long tx;
    double *lat_ms;          /* samples */
    struct cache *cache;     /* dropoff: balances go to Redis as the server's do */
    long long nlat;
    int failed;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct db *dbrate_connect(void)
{
    struct db_params p = {
        .host = cfg.db_host, .port = cfg.db_port, .socket = cfg.db_socket,
        .user = cfg.db_user, .password = cfg.db_password, .name = cfg.db_name,
        .connect_timeout = 5, .rw_timeout = 30,
    };
    char err[256];
    struct db *d = db_open(&p, err, sizeof err);
    if (!d)
        fprintf(stderr, "dbrate: %s\n", err);
    return d;
}

static int insert_tx(struct db *d, void *arg)
{
    struct client *c = arg;
    return db_exec(d, SQL_INSERT, "ii", (long long)c->index, c->tx) < 0 ? -1 : 0;
}

/* One drop-off transaction through the ledger, as the server would run
 * it: a group of `group` drop-offs (1: a drop-off alone), each on a random
 * household.  Returns the drop-offs credited, or -1. */
static int dropoff_once(struct db *d, struct client *c)
{
    const struct category *cat;
    if (catalog_find(d, category, &cat) != 1)
        return -1;
    struct dropoff_in in[LEDGER_GROUP_MAX];
    const struct dropoff_in *ins[LEDGER_GROUP_MAX];
    char keys[LEDGER_GROUP_MAX][64], actor[32], scope[32];
    snprintf(actor, sizeof actor, "s:%lld", attendant);
    snprintf(scope, sizeof scope, "site:%lld", site);
    for (int i = 0; i < group; i++) {
        memset(&in[i], 0, sizeof in[i]);
        snprintf(keys[i], sizeof keys[i], "dbrate-%s-%d-%lld-%d", run_tag, c->index, c->tx, i);
        in[i].scope = scope;
        in[i].key = keys[i];
        randombytes_buf(in[i].fp, sizeof in[i].fp);
        in[i].site_id = site;
        in[i].attendant_id = attendant;
        in[i].household_id = households[randombytes_uniform((uint32_t)nhouseholds)];
        in[i].card_gen = 1;   /* the bench's households keep their first card */
        in[i].reach = "/";
        in[i].recorded_at = (long long)time(NULL);
        clock_local_day((time_t)in[i].recorded_at, in[i].local_day, sizeof in[i].local_day);
        memcpy(in[i].arrival_day, in[i].local_day, sizeof in[i].arrival_day);
        in[i].arrival_cap_days = 7;
        in[i].actor = actor;
        in[i].nlines = 1;
        dropoff_line_set(&in[i].lines[0], cat, 100 + randombytes_uniform(4900));
        ins[i] = &in[i];
    }
    struct ledger_answer ans[LEDGER_GROUP_MAX];
    int rc[LEDGER_GROUP_MAX], done = 0;
    ledger_dropoffs(d, ins, group, ans, rc);
    long long hid[LEDGER_GROUP_MAX], seq[LEDGER_GROUP_MAX], bal[LEDGER_GROUP_MAX];
    int moved = 0;
    for (int i = 0; i < group; i++) {
        if (rc[i] == LEDGER_OK && ans[i].status == 201)
            done++;
        if (rc[i] == LEDGER_OK && ans[i].moved) {
            hid[moved] = ans[i].household_id;
            seq[moved] = ans[i].seq;
            bal[moved++] = ans[i].balance;
        }
        ledger_answer_release(&ans[i]);
    }
    if (moved)
        balance_publish_many(c->cache, moved, hid, seq, bal);
    return done == group ? done : -1;
}

/* One redemption through db/redeem.c, as the server would run it. */
static int redeem_once(struct db *d, struct client *c)
{
    struct redeem_in in = { 0 };
    char key[64], actor[32], scope[32];
    snprintf(key, sizeof key, "dbrate-r-%s-%d-%lld", run_tag, c->index, c->tx);
    snprintf(actor, sizeof actor, "s:%lld", clerk);
    snprintf(scope, sizeof scope, "shop:%lld", shop);
    in.scope = scope;
    in.key = key;
    randombytes_buf(in.fp, sizeof in.fp);
    in.shop_id = shop;
    in.clerk_id = clerk;
    in.reach = "/";
    in.actor = actor;
    in.household_id = households[randombytes_uniform((uint32_t)nhouseholds)];
    in.card_gen = 1;
    in.pin = "4821";
    in.pin_key = pin_key;
    in.pin_lock_seconds = cfg.pin_lock_seconds;
    in.now = (long long)time(NULL);
    in.points = 1;
    struct ledger_answer ans;
    int rc = ledger_redeem(d, &in, &ans);
    if (rc == LEDGER_OK && ans.moved)
        balance_publish(c->cache, ans.household_id, ans.seq, ans.balance);
    int status = ans.status;
    ledger_answer_release(&ans);
    return rc == LEDGER_OK && status == 201 ? 0 : -1;
}

static void *client_main(void *arg)
{
    struct client *c = arg;
    struct db *d = dbrate_connect();
    if (!d) {
        c->failed = 1;
        return NULL;
    }
    bool dropoff = strcmp(mode, "dropoff") == 0, redeem = strcmp(mode, "redeem") == 0;
    char err[256];
    if ((dropoff || redeem) && !(c->cache = cache_new(cfg.redis_url, err, sizeof err))) {
        fprintf(stderr, "dbrate: %s\n", err);
        c->failed = 1;
        db_close(d);
        return NULL;
    }
    while (!atomic_load(&stop)) {
        double t0 = now_s();
        int rc = dropoff ? dropoff_once(d, c) : redeem ? redeem_once(d, c) : db_tx(d, insert_tx, c);
        int count = dropoff ? rc : 1;
        if (rc < 0 || (!dropoff && rc != 0)) {
            fprintf(stderr, "dbrate: client %d: %s\n", c->index, db_error(d));
            c->failed = 1;
            break;
        }
        if (c->nlat < MAX_SAMPLES / 64)
            c->lat_ms[c->nlat++] = (now_s() - t0) * 1000;
        c->tx += count;
    }
    cache_free(c->cache);
    db_close(d);
    db_thread_end();
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int clients = 16;
    double seconds = 10;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--clients") == 0 && i + 1 < argc)
            clients = atoi(argv[++i]);
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "--village") == 0 && i + 1 < argc)
            village = atoll(argv[++i]);
        else if (strcmp(argv[i], "--site") == 0 && i + 1 < argc)
            site = atoll(argv[++i]);
        else if (strcmp(argv[i], "--attendant") == 0 && i + 1 < argc)
            attendant = atoll(argv[++i]);
        else if (strcmp(argv[i], "--category") == 0 && i + 1 < argc)
            category = argv[++i];
        else if (strcmp(argv[i], "--shop") == 0 && i + 1 < argc)
            shop = atoll(argv[++i]);
        else if (strcmp(argv[i], "--group") == 0 && i + 1 < argc)
            group = atoi(argv[++i]);
        else if (strcmp(argv[i], "--clerk") == 0 && i + 1 < argc)
            clerk = atoll(argv[++i]);
        else
            mode = argv[i];
    }
    bool dropoff = mode && strcmp(mode, "dropoff") == 0;
    bool redeem = mode && strcmp(mode, "redeem") == 0;
    if (!mode || (!dropoff && !redeem && strcmp(mode, "insert") != 0) || clients < 1 ||
        clients > 512 || seconds <= 0 || group < 1 || group > LEDGER_GROUP_MAX ||
        (dropoff && (!village || !site || !attendant || !category)) ||
        (redeem && (!village || !shop || !clerk))) {
        fprintf(stderr, "usage: dbrate [--clients N] [--seconds S] insert\n"
                        "       dbrate [--clients N] [--seconds S] dropoff --village ID --site ID "
                        "--attendant ID --category CODE [--group N]\n"
                        "       dbrate [--clients N] [--seconds S] redeem --village ID --shop ID "
                        "--clerk ID\n");
        return 2;
    }
    char err[512];
    if (config_load(&cfg, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "dbrate: configuration: %s\n", err);
        return 2;
    }
    if (sodium_init() < 0 || db_library_init() != 0 || clock_set_zone(cfg.timezone) != 0)
        return 1;
    unsigned char tag[4];
    randombytes_buf(tag, sizeof tag);
    sodium_bin2hex(run_tag, sizeof run_tag, tag, sizeof tag);
    struct db *d = dbrate_connect();
    if (!d)
        return 1;
    pin_key_derive(cfg.pin_secret[0] ? cfg.pin_secret : cfg.qr_secret, pin_key);
    if (!dropoff && !redeem && db_exec_raw(d, SQL_TABLE) != 0) {
        fprintf(stderr, "dbrate: %s\n", db_error(d));
        return 1;
    }
    if (dropoff || redeem) {
        struct db_rows *r = db_query(d, redeem ? SQL_PIN_HOUSEHOLDS : SQL_HOUSEHOLDS, "i", village);
        if (!r || db_rows_count(r) == 0) {
            fprintf(stderr, "dbrate: no households in region %lld\n", village);
            return 1;
        }
        households = calloc(db_rows_count(r), sizeof *households);
        while (db_rows_next(r))
            households[nhouseholds++] = db_rows_int(r, 0);
        db_rows_free(r);
    }
    db_close(d);

    struct client *cs = calloc((size_t)clients, sizeof *cs);
    for (int i = 0; i < clients; i++) {
        cs[i].index = i;
        cs[i].lat_ms = malloc(sizeof(double) * (MAX_SAMPLES / 64));
        pthread_create(&cs[i].thread, NULL, client_main, &cs[i]);
    }
    double t0 = now_s();
    struct timespec ts = { (time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9) };
    nanosleep(&ts, NULL);
    atomic_store(&stop, 1);
    long long total = 0, nlat = 0;
    int failed = 0;
    for (int i = 0; i < clients; i++) {
        pthread_join(cs[i].thread, NULL);
        total += cs[i].tx;
        nlat += cs[i].nlat;
        failed |= cs[i].failed;
    }
    double elapsed = now_s() - t0;
    double *all = malloc(sizeof(double) * (size_t)(nlat ? nlat : 1));
    long long k = 0;
    for (int i = 0; i < clients; i++) {
        memcpy(all + k, cs[i].lat_ms, sizeof(double) * (size_t)cs[i].nlat);
        k += cs[i].nlat;
        free(cs[i].lat_ms);
    }
    qsort(all, (size_t)nlat, sizeof *all, cmp_double);
    double p50 = nlat ? all[nlat / 2] : 0, p99 = nlat ? all[(nlat * 99) / 100] : 0;
    printf("%s clients=%d group=%d tx=%lld seconds=%.1f rate=%.0f/s p50=%.2fms p99=%.2fms\n",
           mode, clients, group, total, elapsed, (double)total / elapsed, p50, p99);
    free(all);
    free(cs);
    free(households);
    config_release(&cfg);
    db_library_end();
    return failed ? 1 : 0;
}
