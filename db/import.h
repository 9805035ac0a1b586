/* import.h - bulk import of households from CSV, all or nothing.
 *
 * The file is what spreadsheet programs save: UTF-8 with or without a
 * byte-order mark, or GB18030; fields separated by commas, quoted with
 * double quotes ("" inside quotes is one quote; quoted fields may hold
 * commas and line breaks); CRLF or LF.  The first line is the header:
 *   region_code,head_name,address,phone,members
 * (columns in any order; phone and members may be empty).  Every row is
 * checked first; only when all are good are they inserted, in one
 * transaction.  Errors carry the 1-based line of the row (the header is
 * line 1). */
#ifndef WB_IMPORT_H
#define WB_IMPORT_H

#include <stdbool.h>
#include <stddef.h>

struct db;
struct audit_actor;

#define IMPORT_MAX_ERRORS 100

struct import_error {
    long line;
    char field[32];
    char message[200];
};

struct import_result {
    long rows;                  /* data rows seen */
    long created;
    bool replayed;              /* answered from the idempotency record */
    bool conflict;              /* the key was used for another file */
    int nerrors;                /* at most IMPORT_MAX_ERRORS kept */
    long total_errors;
    struct import_error errors[IMPORT_MAX_ERRORS];
};

/* Parse, check and insert.  reach_path limits which regions may be
 * named ("/" = all).  With key non-NULL the outcome is stored under
 * (scope, key) with fingerprint fp in the same transaction, and a later
 * call with the same key is answered from it (res->replayed, nothing
 * imported again) or refused (res->conflict) when fp differs. */
enum import_rc {
    IMPORT_DONE = 0,         /* res->created rows inserted or replayed, or res->conflict */
    IMPORT_REFUSED = 1,      /* rows refused: see res->errors; nothing written */
    IMPORT_ERROR = -1,       /* store error: nothing written */
    IMPORT_UNKNOWN = -2,     /* the commit's outcome is unknown */
};

enum import_rc import_households(struct db *d, const char *data, size_t len, bool gb18030,
                      const char *reach_path, const struct audit_actor *who,
                      const char *scope, const char *key, const unsigned char *fp,
                      struct import_result *res);

/* Split one CSV record starting at *pos (exposed for the unit tests).
 * Fills up to maxf fields (NUL-terminated copies in buf, which must hold
 * len + 1 bytes), advances *pos past the record and *line by the physical
 * lines it spans.  Returns the number of fields, 0 at end of input, -1
 * for an unterminated quote / a quote inside an unquoted field, or -2
 * when a field holds a NUL byte (the record is still consumed, so the
 * caller may go on with the next one). */
int csv_record(const char *data, size_t len, size_t *pos, long *line, char *buf,
               char **fields, int maxf);

#endif
