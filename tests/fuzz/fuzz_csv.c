/* libFuzzer target: the CSV record splitter sees whole uploaded files. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "db/import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    char *fields[16];
    size_t pos = 0;
    long line = 1;
    for (;;) {
        size_t before = pos;
        int n = csv_record((const char *)data, size, &pos, &line, buf, fields, 16);
        if (n == 0 || n == -1)
            break;
        if (pos <= before || pos > size)
            abort();      /* must always make progress and stay in bounds */
        for (int i = 0; n > 0 && i < n && i < 16; i++)
            (void)strlen(fields[i]);
    }
    free(buf);
    return 0;
}
