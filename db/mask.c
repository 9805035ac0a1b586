/* mask.c - see mask.h. */
#include "db/mask.h"

#include <string.h>

void mask_name(const char *name, char *out, size_t len)
{
    size_t o = 0, i = 0, chars = 0;
    if (len == 0)
        return;
    /* copy the first UTF-8 character whole */
    if (name[0]) {
        do {
            if (o + 1 < len)
                out[o++] = name[i];
            i++;
        } while (name[i] && ((unsigned char)name[i] & 0xC0) == 0x80);
    }
    for (; name[i]; i++)
        if (((unsigned char)name[i] & 0xC0) != 0x80)
            chars++;
    if (name[0] && chars == 0 && o + 1 < len)
        out[o++] = '*';     /* a one-character name still hides something */
    for (size_t k = 0; k < chars && o + 1 < len; k++)
        out[o++] = '*';
    out[o] = '\0';
}

void mask_phone(const char *phone, char *out, size_t len)
{
    size_t n = strlen(phone);
    if (len == 0)
        return;
    size_t keep_head = n >= 11 ? 3 : 0, keep_tail = n >= 11 ? 4 : (n > 2 ? 2 : 0);
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < len; i++)
        out[o++] = (i < keep_head || i >= n - keep_tail) ? phone[i] : '*';
    out[o] = '\0';
}
