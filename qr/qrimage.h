/* qrimage.h - QR symbols as PNG and SVG (libqrencode + libpng).
 * Error correction M, a 4-module quiet zone.  Buffers are malloc'd and
 * handed to the caller (free()). */
#ifndef WB_QRIMAGE_H
#define WB_QRIMAGE_H

#include <stddef.h>

#define QR_PNG_MIN 64
#define QR_PNG_MAX 2048

/* Square PNG of about size pixels (modules are whole pixels, so the
 * image is the largest multiple of the module count not above size, and
 * never smaller than one pixel per module).  0 or -1. */
int qr_png(const char *payload, int size, unsigned char **out, size_t *len);

/* SVG document, one path of unit squares in a viewBox of modules.  When
 * caption is non-NULL it is printed (escaped) under the symbol. 0 or -1. */
int qr_svg(const char *payload, const char *caption, char **out, size_t *len);

/* The symbol's modules for other renderers (the card sheets): *width
 * modules square, dark[y * width + x] != 0 when dark; malloc'd.  0 or -1. */
int qr_modules(const char *payload, unsigned char **dark, int *width);

/* Escape &<>"' for XML text; malloc'd. */
char *xml_escape(const char *s);

#endif
