/* mask.h - personal data as attendants and clerks see it. */
#ifndef WB_MASK_H
#define WB_MASK_H

#include <stddef.h>

/* "张三丰" -> "张**": the first character, then one '*' per character
 * ("" stays ""). */
void mask_name(const char *name, char *out, size_t len);

/* "13812345678" -> "138****5678"; short numbers keep their last 2. */
void mask_phone(const char *phone, char *out, size_t len);

#endif
