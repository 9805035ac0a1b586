/* input.c - see input.h. */
#include "api/input.h"

#include <stdio.h>
#include <string.h>

size_t utf8_chars(const char *s, size_t bytes)
{
    size_t n = 0;
    for (size_t i = 0; i < bytes; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

static const char *type_word(enum ftype t)
{
    switch (t) {
    case FT_STR: return "a string";
    case FT_INT: return "an integer";
    case FT_BOOL: return "true or false";
    case FT_OBJ: return "an object";
    case FT_ARR: return "an array";
    case FT_NUM: return "a number";
    }
    return "a value";
}

static int check_object(json_t *obj, const struct field *spec, const char *prefix,
                        char *field, size_t flen, char *msg, size_t mlen);

static int check_value(json_t *v, const struct field *f, const char *path, char *field,
                       size_t flen, char *msg, size_t mlen)
{
    snprintf(field, flen, "%s", path);   /* kept only when we fail */
    switch (f->type) {
    case FT_STR: {
        if (!json_is_string(v))
            break;
        size_t bytes = json_string_length(v);
        const char *s = json_string_value(v);
        if (strlen(s) != bytes) {
            snprintf(msg, mlen, "%s must not contain NUL characters", path);
            return -1;
        }
        long long n = (long long)utf8_chars(s, bytes);
        if (n < f->min || n > f->max) {
            snprintf(msg, mlen, "%s must be %lld to %lld characters long", path, f->min,
                     f->max);
            return -1;
        }
        return 0;
    }
    case FT_INT: {
        if (!json_is_integer(v))
            break;
        long long n = json_integer_value(v);
        if (n < f->min || n > f->max) {
            snprintf(msg, mlen, "%s must be from %lld to %lld", path, f->min, f->max);
            return -1;
        }
        return 0;
    }
    case FT_NUM: {
        if (!json_is_number(v))
            break;
        double x = json_number_value(v);
        if (!(x >= (double)f->min && x <= (double)f->max)) {
            snprintf(msg, mlen, "%s must be from %lld to %lld", path, f->min, f->max);
            return -1;
        }
        return 0;
    }
    case FT_BOOL:
        if (!json_is_boolean(v))
            break;
        return 0;
    case FT_OBJ:
        if (!json_is_object(v))
            break;
        return check_object(v, f->sub, path, field, flen, msg, mlen);
    case FT_ARR: {
        if (!json_is_array(v))
            break;
        long long n = (long long)json_array_size(v);
        if (n < f->min || n > f->max) {
            snprintf(msg, mlen, "%s must hold %lld to %lld entries", path, f->min, f->max);
            return -1;
        }
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
            char sub[240];
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            if (!json_is_object(e)) {
                snprintf(field, flen, "%s", sub);
                snprintf(msg, mlen, "%s must be an object", sub);
                return -1;
            }
            if (check_object(e, f->sub, sub, field, flen, msg, mlen) != 0)
                return -1;
        }
        return 0;
    }
    }
    snprintf(msg, mlen, "%s must be %s", path, type_word(f->type));
    return -1;
}

static int check_object(json_t *obj, const struct field *spec, const char *prefix,
                        char *field, size_t flen, char *msg, size_t mlen)
{
    char path[200];
    const char *key;
    json_t *v;
    /* unknown fields first: a typo must not look like a missing field */
    json_object_foreach(obj, key, v) {
        const struct field *f = spec;
        while (f->name && strcmp(f->name, key) != 0)
            f++;
        if (!f->name) {
            snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", key);
            snprintf(field, flen, "%s", path);
            snprintf(msg, mlen, "unknown field '%s'", path);
            return -1;
        }
    }
    for (const struct field *f = spec; f->name; f++) {
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", f->name);
        v = json_object_get(obj, f->name);
        if (!v || json_is_null(v)) {
            if (v && !(f->flags & F_NULLABLE) && !(f->flags & F_REQUIRED)) {
                /* explicit null for an optional, non-nullable field */
                snprintf(field, flen, "%s", path);
                snprintf(msg, mlen, "%s must be %s", path, type_word(f->type));
                return -1;
            }
            if (f->flags & F_REQUIRED && !(f->flags & F_NULLABLE && v)) {
                snprintf(field, flen, "%s", path);
                snprintf(msg, mlen, "%s is required", path);
                return -1;
            }
            continue;
        }
        if (check_value(v, f, path, field, flen, msg, mlen) != 0)
            return -1;
    }
    return 0;
}

int input_check(json_t *body, const struct field *spec, char *field, size_t flen,
                char *msg, size_t mlen)
{
    json_t *empty = NULL;
    if (!body)
        body = empty = json_object();
    if (!json_is_object(body)) {
        snprintf(field, flen, "body");
        snprintf(msg, mlen, "the body must be a JSON object");
        return -1;
    }
    int rc = check_object(body, spec, "", field, flen, msg, mlen);
    json_decref(empty);
    return rc;
}

const char *input_str(json_t *obj, const char *name)
{
    return json_string_value(json_object_get(obj, name));
}

bool input_int(json_t *obj, const char *name, long long *out)
{
    json_t *v = json_object_get(obj, name);
    if (!json_is_integer(v))
        return false;
    *out = json_integer_value(v);
    return true;
}

bool input_has(json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);
    return v && !json_is_null(v);
}

bool input_num(json_t *obj, const char *name, double *out)
{
    json_t *v = json_object_get(obj, name);
    if (!json_is_number(v))
        return false;
    *out = json_number_value(v);
    return true;
}
