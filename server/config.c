/* config.c - one table row per setting: name, kind, bounds, default. */
#include "server/config.h"
#include "db/cache.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

enum kind { K_STR, K_INT, K_SECRET };

struct setting {
    const char *name;
    enum kind kind;
    size_t off;
    const char *def;         /* NULL: no default (empty) */
    long long min, max;      /* ints: range; strings: length range */
};

#define S(name, field, def, minlen, maxlen) \
    { name, K_STR, offsetof(struct config, field), def, minlen, maxlen }
#define I(name, field, def, min, max) \
    { name, K_INT, offsetof(struct config, field), def, min, max }
#define X(name, field) \
    { name, K_SECRET, offsetof(struct config, field), NULL, 32, 4096 }

static const struct setting settings[] = {
    S("WB_LISTEN", listen, "127.0.0.1:8080", 3, 80),
    I("WB_WORKERS", workers, "0", 0, 256),
    S("WB_DB_HOST", db_host, "127.0.0.1", 0, 255),
    I("WB_DB_PORT", db_port, "3306", 1, 65535),
    S("WB_DB_SOCKET", db_socket, "", 0, 107),
    S("WB_DB_USER", db_user, "wastebank", 1, 80),
    S("WB_DB_PASSWORD", db_password, "", 0, 256),
    S("WB_DB_NAME", db_name, "wastebank", 1, 64),
    S("WB_REDIS_URL", redis_url, "redis://127.0.0.1:6379/0", 8, 300),
    X("WB_JWT_SECRET", jwt_secret),
    X("WB_QR_SECRET", qr_secret),
    S("WB_PIN_SECRET", pin_secret, "", 0, 4096),
    I("WB_TOKEN_TTL", token_ttl, "43200", 60, 30 * 86400),
    S("WB_TIMEZONE", timezone, "Asia/Shanghai", 1, 64),
    S("WB_LOG", log_format, "json", 4, 4),
    I("WB_PIN_LOCK_SECONDS", pin_lock_seconds, "900", 1, 86400),
    I("WB_PAY_CODE_TTL", pay_code_ttl, "120", 10, 3600),
    I("WB_LOGIN_LIMIT_PER_MIN", login_limit_per_min, "60", 1, 100000),
    S("WB_TRUSTED_PROXIES", trusted_proxies, "", 0, 1024),
    I("WB_ADJUST_LIMIT", adjust_limit, "10000", 1, 1000000),
    I("WB_ADJUST_DAILY_LIMIT", adjust_daily_limit, "50000", 1, 100000000),
    I("WB_CLERK_FAIL_LIMIT", clerk_fail_limit, "20", 1, 100000),
    I("WB_CAP_ARRIVAL_DAYS", cap_arrival_days, "7", 1, 366),
    I("WB_MAX_CONNECTIONS", max_connections, "1024", 1, 1000000),
    S("WB_METRICS_ALLOW", metrics_allow, "127.0.0.1,::1", 0, 1024),
    S("WB_METRICS_TOKEN", metrics_token, "", 0, 4096),
    I("WB_PWHASH_THREADS", pwhash_threads, "0", 0, 64),
    I("WB_LEDGER_THREADS", ledger_threads, "0", 0, 64),
    I("WB_SHUTDOWN_GRACE", shutdown_grace, "10", 1, 300),
    S("WB_WEB_DIR", web_dir, "web/dist", 0, 1024),
};
#define NSETTINGS (sizeof settings / sizeof settings[0])

static char **str_slot(struct config *c, const struct setting *s)
{
    return (char **)(void *)((char *)c + s->off);
}

static int *int_slot(struct config *c, const struct setting *s)
{
    return (int *)(void *)((char *)c + s->off);
}

static const struct setting *find(const char *name)
{
    for (size_t i = 0; i < NSETTINGS; i++)
        if (strcmp(settings[i].name, name) == 0)
            return &settings[i];
    return NULL;
}

static int set_value(struct config *c, const struct setting *s, const char *v,
                     char *err, size_t errlen)
{
    if (s->kind == K_INT) {
        char *end;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (errno || end == v || *end || n < s->min || n > s->max) {
            snprintf(err, errlen, "%s must be an integer from %lld to %lld", s->name,
                     s->min, s->max);
            return -1;
        }
        *int_slot(c, s) = (int)n;
        return 0;
    }
    char *dup = strdup(v);
    if (!dup) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char **slot = str_slot(c, s);
    if (*slot) {
        sodium_memzero(*slot, strlen(*slot));
        free(*slot);
    }
    *slot = dup;
    return 0;
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    size_t i = 0;
    while (s[i] == ' ' || s[i] == '\t')
        i++;
    if (i)
        memmove(s, s + i, n - i + 1);
}

static int load_file(struct config *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot open config file '%s': %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    bool open_to_others = fstat(fileno(f), &st) == 0 && (st.st_mode & 077);
    char line[8192];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        trim(line);
        if (!line[0] || line[0] == '#')
            continue;
        char *eq = strchr(line, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected KEY=VALUE", path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *key = line, *val = eq + 1;
        trim(key);
        trim(val);
        const struct setting *s = find(key);
        if (!s) {
            snprintf(err, errlen, "%s:%d: unknown setting '%s'", path, lineno, key);
            rc = -1;
            break;
        }
        if ((s->kind == K_SECRET || strstr(key, "SECRET") || strstr(key, "PASSWORD") ||
             strcmp(key, "WB_METRICS_TOKEN") == 0) &&
            open_to_others) {
            snprintf(err, errlen, "%s holds %s but is readable by others (chmod 600)",
                     path, key);
            rc = -1;
            break;
        }
        if (set_value(c, s, val, err, errlen) != 0) {
            rc = -1;
            break;
        }
    }
    sodium_memzero(line, sizeof line);
    fclose(f);
    return rc;
}

static int parse_listen(struct config *c, char *err, size_t errlen)
{
    const char *colon = strrchr(c->listen, ':');
    if (!colon || colon == c->listen || (size_t)(colon - c->listen) >= sizeof c->listen_host) {
        snprintf(err, errlen, "WB_LISTEN must be host:port, got '%s'", c->listen);
        return -1;
    }
    memcpy(c->listen_host, c->listen, (size_t)(colon - c->listen));
    c->listen_host[colon - c->listen] = '\0';
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || p < 0 || p > 65535) {
        snprintf(err, errlen, "WB_LISTEN port must be 0-65535, got '%s'", colon + 1);
        return -1;
    }
    c->listen_port = (int)p;
    return 0;
}

static int validate(struct config *c, char *err, size_t errlen)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        const struct setting *s = &settings[i];
        if (s->kind == K_INT)
            continue;
        const char *v = *str_slot(c, s);
        size_t n = v ? strlen(v) : 0;
        if (s->kind == K_SECRET && n == 0) {
            snprintf(err, errlen, "%s is not set (it must be at least %lld bytes)", s->name,
                     s->min);
            return -1;
        }
        if ((long long)n < s->min || (long long)n > s->max) {
            if (s->kind == K_SECRET)
                snprintf(err, errlen, "%s is too short: %zu bytes, at least %lld needed",
                         s->name, n, s->min);
            else
                snprintf(err, errlen, "%s must be %lld to %lld characters", s->name,
                         s->min, s->max);
            return -1;
        }
    }
    if (c->metrics_token[0] && strlen(c->metrics_token) < 32) {
        snprintf(err, errlen, "WB_METRICS_TOKEN is too short: at least 32 bytes when set");
        return -1;
    }
    if (c->pin_secret[0] && strlen(c->pin_secret) < 32) {
        snprintf(err, errlen, "WB_PIN_SECRET is too short: at least 32 bytes when set");
        return -1;
    }
    if (strcmp(c->jwt_secret, c->qr_secret) == 0) {
        snprintf(err, errlen, "WB_JWT_SECRET and WB_QR_SECRET must differ");
        return -1;
    }
    if (strcmp(c->log_format, "json") != 0 && strcmp(c->log_format, "text") != 0) {
        snprintf(err, errlen, "WB_LOG must be json or text");
        return -1;
    }
    if (!cache_url_valid(c->redis_url)) {
        snprintf(err, errlen, "WB_REDIS_URL must be redis://host:port/db or unix:///path");
        return -1;
    }
    /* The zone must exist: a missing file makes libc silently use UTC,
     * which would put every drop-off on the wrong local day. */
    if (strstr(c->timezone, "..") || c->timezone[0] == '/') {
        snprintf(err, errlen, "WB_TIMEZONE '%s' is not a zone name", c->timezone);
        return -1;
    }
    char zpath[256];
    snprintf(zpath, sizeof zpath, "/usr/share/zoneinfo/%s", c->timezone);
    if (access(zpath, R_OK) != 0) {
        snprintf(err, errlen, "WB_TIMEZONE '%s' is unknown (no %s; install tzdata)",
                 c->timezone, zpath);
        return -1;
    }
    return parse_listen(c, err, errlen);
}

int config_load(struct config *c, const char *path, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < NSETTINGS; i++)
        if (set_value(c, &settings[i], settings[i].def ? settings[i].def : "", err,
                      errlen) != 0)
            return -1;
    if (!path || !*path)
        path = getenv("WB_CONFIG");
    if (path && *path && load_file(c, path, err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < NSETTINGS; i++) {
        const char *v = getenv(settings[i].name);
        if (v && set_value(c, &settings[i], v, err, errlen) != 0)
            return -1;
    }
    return validate(c, err, errlen);
}

void config_release(struct config *c)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (settings[i].kind == K_INT)
            continue;
        char **slot = str_slot(c, &settings[i]);
        if (*slot) {
            sodium_memzero(*slot, strlen(*slot));
            free(*slot);
            *slot = NULL;
        }
    }
}

int config_trusts_proxy(const struct config *c, const char *addr)
{
    return config_addr_listed(c->trusted_proxies, addr);
}

int config_addr_listed(const char *list, const char *addr)
{
    const char *p = list;
    size_t alen = strlen(addr);
    while (p && *p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ')
            e++;
        if ((size_t)(e - p) == alen && alen && strncmp(p, addr, alen) == 0)
            return 1;
        p = e;
    }
    return 0;
}
