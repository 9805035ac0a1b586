/* web_path.c - see web_path.h. */
#include "server/web_path.h"

#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool web_path_decode(const char *raw, char *out, size_t len)
{
    if (!raw || raw[0] != '/' || len == 0)
        return false;
    size_t n = 0;
    for (const char *p = raw + 1; *p; p++) {
        int c = (unsigned char)*p;
        if (c == '%') {
            int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
            if (lo < 0)
                return false;
            c = hi * 16 + lo;
            p += 2;
        }
        if (c == 0 || c == '\\' || n + 1 >= len)
            return false;
        out[n++] = (char)c;
    }
    out[n] = 0;
    /* every segment is a name: none empty (but a last one), none "." or ".." */
    for (const char *seg = out; *seg;) {
        const char *end = strchr(seg, '/');
        size_t sl = end ? (size_t)(end - seg) : strlen(seg);
        if ((sl == 0 && end) || (sl == 1 && seg[0] == '.') ||
            (sl == 2 && seg[0] == '.' && seg[1] == '.'))
            return false;
        if (!end)
            break;
        seg = end + 1;
    }
    return true;
}

