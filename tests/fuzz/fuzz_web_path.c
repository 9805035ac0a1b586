/* libFuzzer target: a request path for the web apps is untrusted.
 * web_path_decode must never crash, and what it accepts must name a file
 * inside the folder: no NUL, no backslash, no "." or ".." segment, no
 * empty segment but a last one, and never longer than what was sent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/web_path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *raw = malloc(size + 1);
    if (!raw)
        return 0;
    memcpy(raw, data, size);
    raw[size] = '\0';
    char out[1024];
    if (web_path_decode(raw, out, sizeof out)) {
        size_t n = strlen(out);
        if (n >= strlen(raw) || strchr(out, '\\'))
            abort();
        for (const char *seg = out; *seg;) {
            const char *end = strchr(seg, '/');
            size_t sl = end ? (size_t)(end - seg) : strlen(seg);
            if ((sl == 0 && end) || (sl == 1 && seg[0] == '.') ||
                (sl == 2 && seg[0] == '.' && seg[1] == '.'))
                abort();           /* a segment that leaves or stays put */
            if (!end)
                break;
            seg = end + 1;
        }
    }
    free(raw);
    return 0;
}
