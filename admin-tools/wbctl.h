/* wbctl.h - what the wbctl command files share. */
#ifndef WB_WBCTL_H
#define WB_WBCTL_H

#include <stdbool.h>

struct config;
struct db;

/* Print "wbctl: <reason>" and exit with code. */
void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

const struct config *wbctl_config(void);

/* Connect to MariaDB with the loaded configuration, or die(1). */
struct db *wbctl_db(void);

/* The same, allowed to send LOAD DATA LOCAL (db/bulk.h). */
struct db *wbctl_db_bulk(void);

/* "--name value" among argv, NULL when absent; die(2) when the value is
 * missing. */
const char *opt_value(int argc, char **argv, const char *name);
bool opt_flag(int argc, char **argv, const char *name);

/* Commands, one file each (admin-tools/cmd_*.c). */
int cmd_import_households(int argc, char **argv);
int cmd_cards(int argc, char **argv);
int cmd_seed_demo(int argc, char **argv);
int cmd_reconcile(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_seed_province(int argc, char **argv);
int cmd_settle(int argc, char **argv);
int cmd_close_days(int argc, char **argv);

/* seed-demo's village programme (seed_inspections.c): a scoring rule for
 * the village, inspections of its n households since last month's 1st,
 * and last month settled.  die(1) on failure. */
struct region;
void seed_demo_inspections(struct db *d, const struct region *village, long long inspector,
                           const long long *households, int n);

#endif
