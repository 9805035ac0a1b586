/* stats.c - the one definition of the store counters (see stats.h). */
#include "db/stats.h"

struct wb_store_stats wb_stats;
