#ifndef RUNBOOK_CZLIB_SHIM_H
#define RUNBOOK_CZLIB_SHIM_H
#include <zlib.h>

/* deflateInit2 and inflateInit2 are macros, which Swift cannot call: typed wrappers.
   windowBits 15 + 16 selects the gzip format (RFC 1952). */
static inline int runbook_deflate_init_gzip(z_stream *s, int level) {
    return deflateInit2(s, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}
static inline int runbook_inflate_init_gzip(z_stream *s) { return inflateInit2(s, 15 + 16); }
/* Raw deflate (windowBits -15: no header, no checksum), for compact in-memory copies. */
static inline int runbook_deflate_init_raw(z_stream *s, int level) {
    return deflateInit2(s, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
}
static inline int runbook_inflate_init_raw(z_stream *s) { return inflateInit2(s, -15); }
#endif
