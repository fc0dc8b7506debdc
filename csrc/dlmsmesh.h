/* dlmsmesh C core: the public header, exactly what the cffi cdef declares.
 *
 * Plain C99, no Python.h, no global state. Every fallible function returns
 * DM_OK or a negative DM_ERR_* code and reports the failing byte offset.
 */
#ifndef DLMSMESH_H
#define DLMSMESH_H

#include <stddef.h>
#include <stdint.h>

/* status codes (python/dlmsmesh/_status.py mirrors them) */
#define DM_OK 0
#define DM_ERR_TRUNCATED -1
#define DM_ERR_BAD_TAG -2
#define DM_ERR_BAD_LENGTH -3
#define DM_ERR_TOO_DEEP -4
#define DM_ERR_TOO_MANY -5
#define DM_ERR_TRAILING -6
#define DM_ERR_BAD_UTF8 -7
#define DM_ERR_BAD_DESCRIPTION -8
#define DM_ERR_COMPACT_OVERRUN -9
#define DM_ERR_ZERO_SIZE -10
#define DM_ERR_NO_SPACE -11
#define DM_ERR_BAD_ARGUMENT -12
/* xDLMS APDU layer */
#define DM_ERR_APDU_TAG -20
#define DM_ERR_APDU_CHOICE -21
#define DM_ERR_APDU_FLAG -22

/* Memo slots of the loader that turns dm_axdr_decode output into Python
 * objects (python/dlmsmesh/_native/loader.py fills them in this order). */
#define DM_MEMO_DONT_CARE 0
#define DM_MEMO_MAKE_COMPACT 1
#define DM_MEMO_ARRAY_DESCRIPTION 2
#define DM_MEMO_STRUCTURE_DESCRIPTION 3
#define DM_MEMO_CLASS_BASE 4 /* + data tag 0..27: the type's class */
#define DM_MEMO_CACHE_BASE 256 /* + 256 * cache + octet: shared 1-octet values */
#define DM_CACHE_UNSIGNED 0
#define DM_CACHE_INTEGER 1
#define DM_CACHE_ENUM 2
#define DM_CACHE_BCD 3

#define DM_DECODE_WHOLE 1 /* flag: bytes after the value are an error */

typedef struct {
    size_t out_len;    /* bytes of loader program written */
    size_t end;        /* offset just after the decoded value */
    size_t err_offset; /* failing byte offset when the status is an error */
} dm_decode_result;

/* Decode one A-XDR Data value at in[offset] into a pickle (protocol 4)
 * program for the memo-primed loader.  DM_ERR_NO_SPACE asks for a larger
 * out buffer; nothing else depends on out_cap. */
int dm_axdr_decode(const uint8_t *in, size_t in_len, size_t offset, int max_depth,
                   int flags, uint8_t *out, size_t out_cap, dm_decode_result *res);

/* Column kinds for dm_axdr_pack_rows. */
#define DM_COL_U8 1  /* uint8 values, 1 content byte */
#define DM_COL_I8 2
#define DM_COL_U16 3 /* uint16 values */
#define DM_COL_I16 4
#define DM_COL_U32 5 /* uint32 values */
#define DM_COL_I32 6
#define DM_COL_U64 7 /* uint64 values */
#define DM_COL_I64 8
#define DM_COL_F32 9  /* float values (4 bytes) */
#define DM_COL_F64 10 /* double values */
#define DM_COL_BOOL 11 /* uint8 values, written as 00/01 */
#define DM_COL_FIXED_OCTETS 12 /* width bytes per row, no length (date-time...) */
#define DM_COL_OCTETS 13 /* variable: uint32 lengths + concatenated bytes, length-prefixed */

typedef struct {
    int kind;
    uint8_t tag;           /* the Data tag written before each value */
    uint32_t width;        /* FIXED_OCTETS: bytes per value */
    const void *values;    /* row-indexed values, or the concatenated bytes */
    const uint32_t *lengths; /* OCTETS: per-row byte counts */
} dm_column;

/* Write `rows` rows of `ncols` tagged values; with row_tag != 0 each row is
 * wrapped as `row_tag count` (a structure).  Returns bytes written, or
 * DM_ERR_NO_SPACE / DM_ERR_BAD_ARGUMENT. */
int64_t dm_axdr_pack_rows(const dm_column *cols, size_t ncols, size_t rows, uint8_t row_tag,
                          uint8_t *out, size_t out_cap);

#endif
