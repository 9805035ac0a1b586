/* static_site.c - see static_site.h. */
#include "server/static_site.h"
#include "server/log.h"
#include "server/request.h"
#include "server/web_path.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define PATH_MAX_LEN 1024

struct static_file {
    char *path;                  /* relative: "console/index.html" */
    unsigned char *data, *gz;    /* gz: the pre-compressed twin, or NULL */
    size_t len, gzlen;
    bool twin;                   /* a ".gz" given to its file: dropped */
};

struct static_site {
    struct static_file *f;       /* sorted by path */
    size_t n, cap, bytes;
};

/* The apps, by their first path segment. */
static const char *const APPS[] = { "console", "station", "till", "me", NULL };

static const struct { const char *ext, *type; } TYPES[] = {
    { "html", "text/html; charset=utf-8" },
    { "js", "text/javascript; charset=utf-8" },
    { "mjs", "text/javascript; charset=utf-8" },
    { "css", "text/css; charset=utf-8" },
    { "json", "application/json" },
    { "map", "application/json" },
    { "webmanifest", "application/manifest+json" },
    { "svg", "image/svg+xml" },
    { "png", "image/png" },
    { "jpg", "image/jpeg" },
    { "jpeg", "image/jpeg" },
    { "gif", "image/gif" },
    { "webp", "image/webp" },
    { "ico", "image/x-icon" },
    { "woff2", "font/woff2" },
    { "woff", "font/woff" },
    { "ttf", "font/ttf" },
    { "txt", "text/plain; charset=utf-8" },
    { "wasm", "application/wasm" },
};

static const char *content_type(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    for (size_t i = 0; dot && i < sizeof TYPES / sizeof TYPES[0]; i++)
        if (strcasecmp(dot + 1, TYPES[i].ext) == 0)
            return TYPES[i].type;
    return "application/octet-stream";
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const struct static_file *)a)->path, ((const struct static_file *)b)->path);
}

static struct static_file *find(const struct static_site *s, const char *path)
{
    struct static_file key = { .path = (char *)(uintptr_t)path };
    return s->n ? bsearch(&key, s->f, s->n, sizeof *s->f, by_path) : NULL;
}

/* ---- loading ---- */

static int read_all(const char *file, unsigned char **out, size_t *len, size_t limit)
{
    FILE *fp = fopen(file, "rb");
    if (!fp)
        return -1;
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || st.st_size < 0 || (size_t)st.st_size > limit) {
        fclose(fp);
        errno = EFBIG;
        return -1;
    }
    size_t n = (size_t)st.st_size;
    unsigned char *b = malloc(n ? n : 1);
    if (!b || fread(b, 1, n, fp) != n) {
        free(b);
        fclose(fp);
        return -1;
    }
    fclose(fp);
    *out = b;
    *len = n;
    return 0;
}

static int add(struct static_site *s, const char *rel, unsigned char *data, size_t len)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        struct static_file *m = realloc(s->f, cap * sizeof *m);
        if (!m)
            return -1;
        s->f = m;
        s->cap = cap;
    }
    char *p = strdup(rel);
    if (!p)
        return -1;
    s->f[s->n++] = (struct static_file){ .path = p, .data = data, .len = len };
    return 0;
}

/* Walk dir (rel below the root): regular files, and symlinks whose target
 * lies inside the root.  0 or -1 (err filled). */
static int walk(struct static_site *s, const char *root_real, const char *dir, const char *rel,
                int depth, char *err, size_t errlen)
{
    DIR *dp = opendir(dir);
    if (!dp) {
        snprintf(err, errlen, "cannot read %s: %s", dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(dp)) != NULL) {
        if (e->d_name[0] == '.')
            continue;                          /* ".", "..", hidden files */
        char full[PATH_MAX_LEN], sub[PATH_MAX_LEN], real[PATH_MAX];
        if (snprintf(full, sizeof full, "%s/%s", dir, e->d_name) >= (int)sizeof full ||
            snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name) >=
                (int)sizeof sub)
            continue;
        struct stat st;
        if (!realpath(full, real) || stat(real, &st) != 0)
            continue;                          /* a dangling link */
        size_t rl = strlen(root_real);
        if (strncmp(real, root_real, rl) != 0 || real[rl] != '/') {
            log_msg(LOG_WARN, "web: %s leads out of %s: not served", full, root_real);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            if (depth < 16)
                rc = walk(s, root_real, full, sub, depth + 1, err, errlen);
            continue;
        }
        if (!S_ISREG(st.st_mode))
            continue;
        unsigned char *data;
        size_t len;
        if (read_all(real, &data, &len, STATIC_SITE_MAX_BYTES - s->bytes) != 0) {
            snprintf(err, errlen, "cannot load %s: %s", full, strerror(errno));
            rc = -1;
        } else if (add(s, sub, data, len) != 0) {
            free(data);
            snprintf(err, errlen, "out of memory");
            rc = -1;
        } else {
            s->bytes += len;
        }
    }
    closedir(dp);
    return rc;
}

/* Pair each "x.gz" with its "x": the twin rides along, it is not a path. */
static void pair_twins(struct static_site *s)
{
    size_t kept = 0;
    for (size_t i = 0; i < s->n; i++) {
        struct static_file *f = &s->f[i];
        size_t n = strlen(f->path);
        if (n > 3 && n < PATH_MAX_LEN && strcmp(f->path + n - 3, ".gz") == 0) {
            char base[PATH_MAX_LEN];
            memcpy(base, f->path, n - 3);
            base[n - 3] = 0;
            struct static_file *plain = find(s, base);
            if (plain && !plain->gz) {
                plain->gz = f->data;
                plain->gzlen = f->len;
                f->twin = true;
            }
        }
    }
    for (size_t i = 0; i < s->n; i++) {
        if (s->f[i].twin)
            free(s->f[i].path);          /* its data is its file's gz now */
        else
            s->f[kept++] = s->f[i];
    }
    s->n = kept;
}

struct static_site *static_site_load(const char *dir, char *err, size_t errlen)
{
    struct static_site *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    char root[PATH_MAX];
    if (!dir || !dir[0] || !realpath(dir, root))
        return s;                              /* no apps built: an empty site */
    if (walk(s, root, root, "", 0, err, errlen) != 0) {
        static_site_free(s);
        return NULL;
    }
    if (s->n > 1)
        qsort(s->f, s->n, sizeof *s->f, by_path);
    pair_twins(s);
    return s;
}

void static_site_free(struct static_site *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->f[i].path);
        free(s->f[i].data);
        free(s->f[i].gz);
    }
    free(s->f);
    free(s);
}

size_t static_site_files(const struct static_site *s)
{
    return s ? s->n : 0;
}

/* ---- serving ---- */

/* The app a site path begins with ("console/..."), or NULL. */
static const char *app_of(const char *path, size_t *namelen)
{
    for (int i = 0; APPS[i]; i++) {
        size_t n = strlen(APPS[i]);
        if (strncmp(path, APPS[i], n) == 0 && (path[n] == '/' || path[n] == 0)) {
            *namelen = n;
            return APPS[i];
        }
    }
    return NULL;
}

bool static_site_claims(const char *raw)
{
    if (!raw || raw[0] != '/')
        return false;
    if (raw[1] == 0 || strncmp(raw, "/assets/", 8) == 0 || strcmp(raw, "/favicon.ico") == 0)
        return true;
    size_t n;
    return app_of(raw + 1, &n) != NULL;
}

/* Does the client take gzip?  "gzip" or "*" listed without q=0. */
static bool accepts_gzip(const char *ae)
{
    while (ae && *ae) {
        while (*ae == ' ' || *ae == ',')
            ae++;
        const char *end = strchr(ae, ',');
        size_t n = end ? (size_t)(end - ae) : strlen(ae);
        char tok[64];
        snprintf(tok, sizeof tok, "%.*s", (int)(n < 63 ? n : 63), ae);
        char *semi = strchr(tok, ';');
        const char *q = semi ? strstr(semi, "q=") : NULL;
        if (semi)
            *semi = 0;
        for (char *t = tok + strlen(tok); t > tok && t[-1] == ' ';)
            *--t = 0;
        if ((strcasecmp(tok, "gzip") == 0 || strcmp(tok, "*") == 0) &&
            !(q && strtod(q + 2, NULL) <= 0.0))
            return true;
        ae = end;
    }
    return false;
}

static void redirect(struct req *r, int status, const char *to)
{
    reply_header(r, "Location", to);
    reply_error(r, status, "moved", NULL, "see %s", to);
}

void static_site_serve(struct req *r, const struct static_site *s, const char *raw)
{
    char path[PATH_MAX_LEN];
    if (strcmp(raw, "/") == 0) {
        redirect(r, 302, "/console/");
        return;
    }
    if (!web_path_decode(raw, path, sizeof path)) {
        reply_error(r, 404, "not_found", NULL, "no such file");
        return;
    }
    size_t an = 0;
    const char *app = app_of(path, &an);
    if (app && path[an] == 0) {                /* "/console": its folder */
        char to[32];
        snprintf(to, sizeof to, "/%s/", app);
        redirect(r, 301, to);
        return;
    }
    const struct static_file *f = path[strlen(path) - 1] == '/' ? NULL : find(s, path);
    if (!f && app) {
        /* the app's own routes (no extension in the last segment) */
        const char *last = strrchr(path, '/');
        if (!strchr(last ? last : path, '.')) {
            char index[48];
            snprintf(index, sizeof index, "%s/index.html", app);
            f = find(s, index);
        }
    }
    if (!f) {
        reply_error(r, 404, "not_found", NULL,
                    s->n ? "no such file" : "the web apps are not built (make web)");
        return;
    }
    bool immutable = strncmp(f->path, "assets/", 7) == 0;
    reply_header(r, "Cache-Control",
                 immutable ? "public, max-age=31536000, immutable" : "no-cache");
    if (f->gz) {
        reply_header(r, "Vary", "Accept-Encoding");
        if (accepts_gzip(req_header(r, "Accept-Encoding"))) {
            reply_header(r, "Content-Encoding", "gzip");
            reply_static(r, 200, content_type(f->path), f->gz, f->gzlen);
            return;
        }
    }
    reply_static(r, 200, content_type(f->path), f->data, f->len);
}
