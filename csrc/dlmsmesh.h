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
/* BER (ACSE layer) */
#define DM_ERR_BER_TAG -30        /* tag number longer than 4 octets */
#define DM_ERR_BER_INDEFINITE -31 /* indefinite length (0x80) */

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

/* BER TLV walker (csrc/ber.c).  Nodes come in tree pre-order; every field
 * is a uint32 so Python can read the array as one flat run. */
#define DM_BER_DEPTH_LIMIT 64 /* the largest max_depth dm_ber_walk accepts */
#define DM_BER_ONE 1          /* flag: stop after the first top-level TLV */
#define DM_BER_FLAT 2         /* flag: list the TLVs of the range, not their contents */

typedef struct {
    uint32_t cls;         /* identifier bits 8-7: 0x00, 0x40, 0x80 or 0xC0 */
    uint32_t constructed; /* 1 when identifier bit 6 is set */
    uint32_t number;      /* tag number */
    uint32_t header;      /* offset of the identifier octet */
    uint32_t content;     /* offset of the first content octet */
    uint32_t length;      /* content octets */
    uint32_t depth;       /* 0 for the TLVs of the walked range */
} dm_ber_node;

typedef struct {
    size_t count;      /* nodes in the tree, also when more than node_cap */
    size_t end;        /* offset after the last TLV walked */
    size_t err_offset; /* failing byte offset when the status is an error */
} dm_ber_result;

/* Walk the BER TLVs in in[offset, end): definite lengths only (short form and
 * 81..84), tag numbers up to 4 base-128 octets, node depth <= max_depth.  A
 * tree with more than node_cap nodes gives DM_ERR_NO_SPACE with res->count
 * the number needed (input errors take precedence). */
int dm_ber_walk(const uint8_t *in, size_t in_len, size_t offset, size_t end, int max_depth,
                int flags, dm_ber_node *nodes, size_t node_cap, dm_ber_result *res);

/* Identifier and shortest definite length of a TLV: returns the bytes written
 * (at most 10), DM_ERR_NO_SPACE, or DM_ERR_BAD_ARGUMENT (ident bits 5-1 set,
 * number >= 2^28). */
int dm_ber_header(uint8_t ident, uint32_t number, uint32_t length, uint8_t *out, size_t out_cap);

/* xDLMS APDU hot path (csrc/apdu_decode.c): get-response-normal,
 * data-notification and general-block-transfer decode in one C call into a
 * program that builds the APDU object; any other APDU answers
 * DM_ERR_APDU_NOT_HOT and is walked by the Python codec. */
#define DM_ERR_APDU_NOT_HOT -23
#define DM_MEMO_APDU_BASE 2048
#define DM_MEMO_NULL_DATA (DM_MEMO_APDU_BASE + 0)
#define DM_MEMO_GET_RESPONSE_NORMAL (DM_MEMO_APDU_BASE + 1)
#define DM_MEMO_DATA_NOTIFICATION (DM_MEMO_APDU_BASE + 2)
#define DM_MEMO_GENERAL_BLOCK_TRANSFER (DM_MEMO_APDU_BASE + 3)
#define DM_MEMO_FIELD_BASE (DM_MEMO_APDU_BASE + 16) /* + DM_FIELD_*: attribute names */
#define DM_FIELD_INVOKE_ID 0
#define DM_FIELD_PRIORITY 1
#define DM_FIELD_SERVICE_CLASS 2
#define DM_FIELD_RESULT 3
#define DM_FIELD_LONG_INVOKE_ID 4
#define DM_FIELD_PROCESSING_OPTION 5
#define DM_FIELD_SELF_DESCRIPTIVE 6
#define DM_FIELD_DATE_TIME 7
#define DM_FIELD_BODY 8
#define DM_FIELD_LAST_BLOCK 9
#define DM_FIELD_STREAMING 10
#define DM_FIELD_WINDOW 11
#define DM_FIELD_BLOCK_NUMBER 12
#define DM_FIELD_BLOCK_NUMBER_ACK 13
#define DM_FIELD_BLOCK_DATA 14
#define DM_FIELD_COUNT 15
#define DM_MEMO_PRIORITY_BASE (DM_MEMO_APDU_BASE + 40)      /* + 0 normal, + 1 high */
#define DM_MEMO_SERVICE_CLASS_BASE (DM_MEMO_APDU_BASE + 42) /* + 0 unconfirmed, + 1 confirmed */
#define DM_MEMO_DAR_BASE (DM_MEMO_APDU_BASE + 256)          /* + octet: DataAccessResult */

typedef struct {
    size_t out_len;    /* bytes of loader program written */
    size_t end;        /* offset after the APDU */
    size_t err_offset; /* failing byte offset when the status is an error */
    int in_data;       /* 1 when the error lies inside a Data value */
} dm_apdu_result;

/* One thread's APDU decoding context: the program buffer, the result, and
 * the small-value answer. */
typedef struct {
    uint8_t *out;
    size_t out_cap;
    dm_apdu_result res;
    int64_t value;  /* scalar answer: the integer, or the DataAccessResult */
} dm_apdu_ctx;

#define DM_APDU_SCALAR 0x40000000 /* status bit: a scalar answer, see below */

/* Decode the whole APDU in[0, in_len) (trailing bytes are an error).
 * Returns the length (> 0) of the program written to ctx->out, or, for a get-response-normal
 * carrying one small value, DM_APDU_SCALAR | iip << 8 | kind with no
 * program: kind is the Data tag of an integer, boolean or null-data result
 * (ctx->value holds it), 9 for an octet-string (the content is in[6:]), or
 * 255 for a data-access-result (ctx->value); or a negative DM_ERR_*.
 * Fields equal to the dataclass defaults are left out of programs. */
int dm_apdu_decode(const char *in, size_t in_len, dm_apdu_ctx *ctx);

#endif
