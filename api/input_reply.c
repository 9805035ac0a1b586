/* input_reply.c - input_check() answering 400 itself: the one piece of
 * api/input.h that needs the server (kept apart so the checker links
 * alone, e.g. into the fuzz targets). */
#include "api/input.h"
#include "server/request.h"

bool input_check_or_reply(struct req *r, const struct field *spec)
{
    char field[160], msg[320];
    if (input_check(r->body, spec, field, sizeof field, msg, sizeof msg) == 0)
        return true;
    reply_error(r, 400, "invalid_request", field, "%s", msg);
    return false;
}
