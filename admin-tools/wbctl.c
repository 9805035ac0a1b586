/* wbctl - the operator's command line: migrations, accounts, imports,
 * card sheets, reconciliation.  It reads the same configuration as the
 * server (WB_* environment, or -c FILE) and uses the store directly.
 *
 * Exit status: 0 success, 1 a failed check or operation, 2 bad usage or
 * configuration; a one-line reason on stderr. */
#include "admin-tools/wbctl.h"
#include "server/clock.h"
#include "server/config.h"
#include "server/log.h"
#include "server/pwpool.h"
#include "db/db.h"
#include "db/migrate.h"
#include "db/staff.h"

#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct config cfg;

void die(int code, const char *fmt, ...)
{
    va_list ap;
    fputs("wbctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(code);
}

const struct config *wbctl_config(void)
{
    return &cfg;
}

static struct db *connect_db(bool local_infile)
{
    struct db_params p = {
        .host = cfg.db_host,
        .port = cfg.db_port,
        .socket = cfg.db_socket,
        .user = cfg.db_user,
        .password = cfg.db_password,
        .name = cfg.db_name,
        .connect_timeout = 5,
        .rw_timeout = 600,
        .local_infile = local_infile,
    };
    char err[256];
    struct db *d = db_open(&p, err, sizeof err);
    if (!d)
        die(1, "%s", err);
    return d;
}

struct db *wbctl_db(void)
{
    return connect_db(false);
}

struct db *wbctl_db_bulk(void)
{
    return connect_db(true);
}

const char *opt_value(int argc, char **argv, const char *name)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], name) == 0) {
            if (i + 1 >= argc)
                die(2, "%s needs a value", name);
            return argv[i + 1];
        }
    return NULL;
}

bool opt_flag(int argc, char **argv, const char *name)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return true;
    return false;
}

static int cmd_migrate(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct db *d = wbctl_db();
    char err[512];
    int n = migrate_apply(d, err, sizeof err);
    if (n < 0) {
        db_close(d);
        die(1, "%s", err);
    }
    int cur = migrate_current(d);
    printf("migrations: %d applied, schema at version %d\n", n, cur);
    db_close(d);
    return 0;
}

/* Read one line from stdin, strip its line end. */
static void read_password(char *buf, size_t len)
{
    if (!fgets(buf, (int)len, stdin))
        die(2, "expected the password on stdin");
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
}

static int cmd_create_admin(int argc, char **argv)
{
    const char *username = opt_value(argc, argv, "--username");
    const char *display = opt_value(argc, argv, "--display-name");
    if (!username)
        die(2, "usage: wbctl create-admin --username U [--display-name N] < password");
    size_t ulen = strlen(username);
    if (ulen < 1 || ulen > 64 || strspn(username, "abcdefghijklmnopqrstuvwxyz"
                                                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != ulen)
        die(2, "username must be 1-64 of letters, digits, '.', '_' and '-'");
    char pw[1100];
    read_password(pw, sizeof pw);
    if (strlen(pw) < 10 || strlen(pw) > 1024)
        die(2, "the password must be 10 to 1024 characters");
    struct staff s = { 0 };
    snprintf(s.username, sizeof s.username, "%s", username);
    snprintf(s.role, sizeof s.role, "admin");
    snprintf(s.display_name, sizeof s.display_name, "%s", display ? display : username);
    if (pw_hash_now(pw, s.password_hash) != 0)
        die(1, "could not hash the password (out of memory?)");
    sodium_memzero(pw, sizeof pw);
    struct db *d = wbctl_db();
    long long id = staff_insert(d, &s);
    if (id < 0) {
        int dup = db_errkind(d) == DB_DUP;
        char e[256];
        snprintf(e, sizeof e, "%s", db_error(d));
        db_close(d);
        if (dup)
            die(1, "username '%s' is taken", username);
        die(1, "cannot create the admin: %s", e);
    }
    printf("admin '%s' created with id %lld\n", username, id);
    db_close(d);
    return 0;
}

static const struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} commands[] = {
    { "migrate", cmd_migrate, "apply pending schema migrations" },
    { "create-admin", cmd_create_admin, "--username U: create an admin (password on stdin)" },
    { "import-households", cmd_import_households, "FILE.csv [--charset gb18030]: import, all or nothing" },
    { "cards", cmd_cards, "--region-id N --out FILE.svg|FILE.pdf: printable card sheet" },
    { "reconcile", cmd_reconcile, "[--fix]: check the ledger invariants (--fix: rebuild Redis first)" },
    { "export", cmd_export, "REPORT [--region-id N --from DAY --to DAY ...] [--out FILE]: a report as CSV" },
    { "close-days", cmd_close_days, ": roll up the points of the days that have ended" },
    { "settle", cmd_settle, "--region-id N --month YYYY-MM: settle a month of inspections" },
    { "seed-demo", cmd_seed_demo, "create the demo province once and print how to sign in" },
    { "seed-province", cmd_seed_province,
      "[--households N --dropoffs M --months K --villages-per-town V --seed S]: a whole province in bulk" },
};

static void usage(FILE *f)
{
    fprintf(f, "usage: wbctl [-c CONFIG] COMMAND [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-20s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
    const char *cfg_path = NULL;
    int i = 1;
    if (i + 1 < argc && (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0)) {
        cfg_path = argv[i + 1];
        i += 2;
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0 ||
        strcmp(argv[i], "help") == 0) {
        usage(stdout);
        return 0;
    }
    const struct command *cmd = NULL;
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
        if (strcmp(commands[k].name, argv[i]) == 0)
            cmd = &commands[k];
    if (!cmd) {
        fprintf(stderr, "wbctl: unknown command '%s'\n", argv[i]);
        usage(stderr);
        return 2;
    }
    char err[512];
    if (config_load(&cfg, cfg_path, err, sizeof err) != 0) {
        fprintf(stderr, "wbctl: configuration: %s\n", err);
        return 2;
    }
    log_init(0, LOG_WARN);
    if (clock_set_zone(cfg.timezone) != 0 || sodium_init() < 0 || db_library_init() != 0)
        die(1, "cannot initialise the libraries");
    json_object_seed(0);
    int rc = cmd->run(argc - i - 1, argv + i + 1);
    config_release(&cfg);
    db_library_end();
    return rc;
}
