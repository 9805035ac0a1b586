/* input.h - checking a JSON body against a field list.
 *
 * Each handler declares its body as a static array of struct field
 * (terminated by {NULL}); input_check_or_reply() refuses, with 400 and the
 * first offending field's name, a body that is not an object, lacks a
 * required field, has an unknown one, a wrong type, a string out of its
 * length (in characters) or a number out of its range.  Nested objects and
 * arrays of objects name fields like "items[2].grams". */
#ifndef WB_INPUT_H
#define WB_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

struct req;

/* The largest id a request may name (a body field, a query value, a
 * cursor): the largest number of 18 digits, so a parser can refuse a
 * longer one by its length, and it fits a BIGINT with room to spare. */
#define ID_MAX 999999999999999999LL

enum ftype {
    FT_STR,     /* min/max: length in characters */
    FT_INT,     /* min/max: value */
    FT_BOOL,
    FT_OBJ,     /* sub: its fields */
    FT_ARR,     /* min/max: element count; sub: element fields (objects) */
    FT_NUM,     /* any JSON number; min/max: value */
};

enum {
    F_REQUIRED = 1 << 0,
    F_NULLABLE = 1 << 1,   /* JSON null accepted (treated as absent) */
};

struct field {
    const char *name;
    enum ftype type;
    unsigned flags;
    long long min, max;
    const struct field *sub;
};

/* 0 when body fits spec; else -1 with the offending field's path in
 * field and a sentence in msg.  body NULL counts as an empty object. */
int input_check(json_t *body, const struct field *spec, char *field, size_t flen,
                char *msg, size_t mlen);

/* The same, replying 400 invalid_request on failure ("OrReply": on false
 * the reply has been sent). */
bool input_check_or_reply(struct req *r, const struct field *spec);

/* Accessors that treat null and absent alike. */
const char *input_str(json_t *obj, const char *name);       /* NULL if absent */
bool input_int(json_t *obj, const char *name, long long *out); /* false if absent */
bool input_has(json_t *obj, const char *name);              /* present, not null */
bool input_num(json_t *obj, const char *name, double *out);  /* false if absent */

/* Number of UTF-8 characters in s (jansson has validated the encoding). */
size_t utf8_chars(const char *s, size_t bytes);

#endif
