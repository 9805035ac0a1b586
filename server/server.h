/* server.h - what all workers share, read-only after start-up (the
 * password pool and rate limiter are internally synchronised). */
#ifndef WB_SERVER_H
#define WB_SERVER_H

struct config;
struct pwpool;
struct ratelimit;
struct ledger_pool;
struct worker;

struct server {
    const struct config *cfg;
    struct pwpool *pw;
    struct ratelimit *rl;
    struct ledger_pool *ledger;  /* the threads that credit drop-offs */
    struct static_site *web;   /* the web apps, read once at start */
    struct settler *settler;   /* the thread that settles inspections */
    char *dummy_hash;          /* verified for unknown usernames */
    unsigned char pin_key[32]; /* household PIN hashing key */
    unsigned char fp_key[32];  /* idempotency fingerprints */
    int nworkers;
    struct worker *workers;
};

#endif
