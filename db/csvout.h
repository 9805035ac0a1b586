/* csvout.h - writing CSV that spreadsheet programs open safely.
 *
 * Text accumulates in a libevent evbuffer, which the server hands to the
 * response as it is (no copy) and wbctl writes to its file.  The file
 * starts with a UTF-8
 * byte-order mark when asked (spreadsheet programs then show Chinese
 * right), rows end in CRLF, and a cell is quoted when it holds a comma, a
 * quote or a line break.  A text cell that a spreadsheet would run as a
 * formula or take as a control character - one that starts with = + - @,
 * TAB or CR - is made inert with a leading apostrophe.  Numbers are
 * written as numbers (a negative one is not a formula).  Every CSV the
 * system writes goes through here, so the escaping rule lives once. */
#ifndef WB_CSVOUT_H
#define WB_CSVOUT_H

#include <stdbool.h>
#include <stddef.h>

struct evbuffer;

struct csv_out {
    struct evbuffer *buf;     /* the text; NULL only when failed */
    bool failed;              /* out of memory: every later write is dropped */
    bool row_open;            /* a cell was written in the current row */
};

/* Start an empty text (with the byte-order mark when bom). */
void csv_out_init(struct csv_out *c, bool bom);

/* Append one cell of text (s may be NULL: an empty cell). */
void csv_out_text(struct csv_out *c, const char *s);

/* Append one integer cell. */
void csv_out_int(struct csv_out *c, long long v);

/* End the current row (CRLF). */
void csv_out_row_end(struct csv_out *c);

/* A header row: the names, then the row's end.  names ends with NULL. */
void csv_out_header(struct csv_out *c, const char *const *names);

/* True when the cell would be escaped (exposed for the unit tests). */
bool csv_out_needs_guard(const char *s);

/* The text as one block of *len bytes, not NUL-terminated (for wbctl and
 * the unit tests; the server sends c->buf itself).  NULL when failed. */
const char *csv_out_bytes(struct csv_out *c, size_t *len);

/* Free the text.  c->buf stays readable until then; on c->failed the
 * caller answers 500 instead. */
void csv_out_release(struct csv_out *c);

#endif
