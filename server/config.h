/* config.h - the process configuration, loaded once and read-only after.
 *
 * Sources, later ones winning: built-in defaults, then the file named by
 * -c/--config or WB_CONFIG (KEY=VALUE lines, '#' comments; it must not be
 * readable by group or others when it holds a secret), then the
 * environment.  Every key is listed once in config.c's table with its
 * bounds; config_load validates the whole result. */
#ifndef WB_CONFIG_H
#define WB_CONFIG_H

#include <stddef.h>

struct config {
    char *listen;            /* WB_LISTEN host:port */
    char listen_host[64];    /* parsed from listen */
    int listen_port;
    int workers;             /* WB_WORKERS; 0 = 2 x cores */
    char *db_host;
    int db_port;
    char *db_socket;
    char *db_user;
    char *db_password;
    char *db_name;
    char *redis_url;
    char *jwt_secret;        /* >= 32 bytes */
    char *qr_secret;         /* >= 32 bytes */
    char *pin_secret;        /* optional, >= 32 bytes; else derived from qr_secret */
    int token_ttl;           /* seconds */
    char *timezone;          /* IANA name, e.g. Asia/Shanghai */
    char *log_format;        /* json | text */
    int pin_lock_seconds;
    int pay_code_ttl;
    int login_limit_per_min;
    char *trusted_proxies;   /* comma-separated addresses */
    int adjust_limit;
    int adjust_daily_limit;  /* points one region admin may adjust in 24 h */
    int clerk_fail_limit;
    int cap_arrival_days;    /* daily caps one day of arrivals may earn */
    int max_connections;     /* open client connections per instance */
    char *metrics_allow;     /* addresses that may read /metrics */
    char *metrics_token;     /* optional bearer token for /metrics */
    int pwhash_threads;      /* argon2 pool size; 0 = cores / 2, at least 1 */
    int ledger_threads;      /* threads running the ledger engine's groups (every movement);
                              * 0 = cores / 2, at least 1 */
    int shutdown_grace;      /* seconds to finish requests in flight */
    char *web_dir;           /* WB_WEB_DIR: the built web apps ("" none) */
};

/* Load into *c (zeroed first).  path may be NULL (then WB_CONFIG is
 * consulted).  Returns 0, or -1 with a one-line reason in err. */
int config_load(struct config *c, const char *path, char *err, size_t errlen);

/* Free every string (secrets are wiped first). */
void config_release(struct config *c);

/* True when addr (text form) is listed in WB_TRUSTED_PROXIES. */
int config_trusts_proxy(const struct config *c, const char *addr);

/* True when addr (text form) is listed in the comma-separated list. */
int config_addr_listed(const char *list, const char *addr);

#endif
