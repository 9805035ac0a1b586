/* stats.h - process-wide store counters, read by the server's /metrics.
 *
 * Plain C11 atomics: any thread may bump them without a lock.  They live in
 * db/ so that wbctl links the store without the HTTP server. */
#ifndef WB_STATS_H
#define WB_STATS_H

#include <stdatomic.h>

struct wb_store_stats {
    atomic_ulong db_errors;        /* MariaDB calls that failed */
    atomic_ulong db_reconnects;    /* successful reconnects */
    atomic_ulong redis_errors;     /* Redis calls that failed */
    atomic_ulong redis_skipped;    /* calls not tried: breaker open */
    atomic_ulong redis_reconnects;
    atomic_ulong ledger_writes;    /* committed ledger rows */
    atomic_ulong tx_retries;       /* transactions retried on deadlock */
    atomic_ulong dropoff_groups;   /* ledger transactions (each one group) */
    atomic_ulong dropoffs_grouped; /* movements decided in them */
    atomic_ulong dropoffs_backdated; /* credited with a recorded_at well before arrival */
    atomic_ulong group_reruns;     /* ledger groups rolled back and run again */
};

extern struct wb_store_stats wb_stats;

#endif
