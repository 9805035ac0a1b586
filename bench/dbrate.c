/* dbrate - the raw rate of a MariaDB transaction, for `make bench`.
 *
 *   dbrate [--clients N] [--seconds S] MODE
 *
 * MODE "insert": BEGIN; INSERT one row; COMMIT - the single-row
 * transaction that bounds anything the server can acknowledge durably.
 * Each client is a thread with its own connection, as the server's workers
 * are.  Prints one line: "MODE clients=N tx=T seconds=S rate=R/s p50=Xms
 * p99=Yms".  Reads the WB_DB_* configuration like wbctl. */
#include "server/config.h"
#include "db/db.h"

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

struct client {
    int index;
    pthread_t thread;
    long long tx;
    double *lat_ms;          /* samples */
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

static void *client_main(void *arg)
{
    struct client *c = arg;
    struct db *d = dbrate_connect();
    if (!d) {
        c->failed = 1;
        return NULL;
    }
    while (!atomic_load(&stop)) {
        double t0 = now_s();
        int rc = db_tx(d, insert_tx, c);
        if (rc != 0) {
            fprintf(stderr, "dbrate: client %d: %s\n", c->index, db_error(d));
            c->failed = 1;
            break;
        }
        if (c->nlat < MAX_SAMPLES / 64)
            c->lat_ms[c->nlat++] = (now_s() - t0) * 1000;
        c->tx++;
    }
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
        else
            mode = argv[i];
    }
    if (!mode || strcmp(mode, "insert") != 0 || clients < 1 || clients > 512 || seconds <= 0) {
        fprintf(stderr, "usage: dbrate [--clients N] [--seconds S] insert\n");
        return 2;
    }
    char err[512];
    if (config_load(&cfg, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "dbrate: configuration: %s\n", err);
        return 2;
    }
    if (sodium_init() < 0 || db_library_init() != 0)
        return 1;
    struct db *d = dbrate_connect();
    if (!d)
        return 1;
    if (db_exec_raw(d, SQL_TABLE) != 0) {
        fprintf(stderr, "dbrate: %s\n", db_error(d));
        return 1;
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
    printf("%s clients=%d tx=%lld seconds=%.1f rate=%.0f/s p50=%.2fms p99=%.2fms\n", mode,
           clients, total, elapsed, (double)total / elapsed, p50, p99);
    free(all);
    free(cs);
    config_release(&cfg);
    db_library_end();
    return failed ? 1 : 0;
}
