/* libFuzzer target: request bodies - jansson's parse (as the router calls
 * it) then the field-list check every handler runs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct field line_fields[] = {
    { "category", FT_STR, F_REQUIRED, 1, 32, NULL },
    { "grams", FT_INT, 0, 1, 500000, NULL },
    { "count", FT_INT, 0, 1, 1000, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

static const struct field spec[] = {
    { "code", FT_STR, F_REQUIRED, 1, 128, NULL },
    { "items", FT_ARR, F_REQUIRED, 1, 20, line_fields },
    { "recorded_at", FT_STR, F_NULLABLE, 20, 40, NULL },
    { "lat", FT_NUM, F_NULLABLE, -90, 90, NULL },
    { "flag", FT_BOOL, 0, 0, 0, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t err;
    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &err);
    if (!body)
        return 0;
    char field[160], msg[320];
    (void)input_check(body, spec, field, sizeof field, msg, sizeof msg);
    json_decref(body);
    return 0;
}
