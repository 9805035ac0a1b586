/* wbctl import-households FILE.csv [--charset gb18030] */
#include "admin-tools/wbctl.h"
#include "db/audit.h"
#include "db/db.h"
#include "db/import.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Read a whole file (at most max bytes) into a malloc'd buffer. */
static char *slurp(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die(1, "cannot open '%s': %s", path, strerror(errno));
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
        if (n > max) {
            fclose(f);
            free(buf);
            die(1, "'%s' is larger than %zu bytes", path, max);
        }
        if (n == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    if (!buf || ferror(f)) {
        fclose(f);
        free(buf);
        die(1, "cannot read '%s'", path);
    }
    fclose(f);
    *len = n;
    return buf;
}

int cmd_import_households(int argc, char **argv)
{
    const char *charset = opt_value(argc, argv, "--charset");
    const char *path = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--charset") == 0) {
            i++;
            continue;
        }
        path = argv[i];
    }
    if (!path)
        die(2, "usage: wbctl import-households FILE.csv [--charset utf-8|gb18030]");
    bool gb = charset && strcasecmp(charset, "gb18030") == 0;
    if (charset && !gb && strcasecmp(charset, "utf-8") != 0 && strcasecmp(charset, "utf8") != 0)
        die(2, "--charset must be utf-8 or gb18030");
    size_t len = 0;
    char *data = slurp(path, 64u << 20, &len);
    struct db *d = wbctl_db();
    struct import_result *res = malloc(sizeof *res);
    if (!res)
        die(1, "out of memory");
    struct audit_actor who = { "cli", "admin", "local", "" };
    enum import_rc rc = import_households(d, data, len, gb, "/", &who, NULL, NULL, NULL, res);
    free(data);
    if (rc == IMPORT_DONE) {
        printf("imported %ld households\n", res->created);
    } else if (rc == IMPORT_REFUSED) {
        for (int i = 0; i < res->nerrors; i++)
            fprintf(stderr, "%s:%ld: %s: %s\n", path, res->errors[i].line, res->errors[i].field,
                    res->errors[i].message);
        if (res->total_errors > res->nerrors)
            fprintf(stderr, "... and %ld more\n", res->total_errors - res->nerrors);
        fprintf(stderr, "wbctl: %ld problems; nothing was imported\n", res->total_errors);
    } else {
        fprintf(stderr, "wbctl: import failed: %s%s\n", db_error(d),
                rc == IMPORT_UNKNOWN ? " (commit outcome unknown: check before running again)" : "");
    }
    free(res);
    db_close(d);
    return rc == IMPORT_DONE ? 0 : 1;
}
