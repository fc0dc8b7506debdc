/* Internal to the C core: the pickle-program writer shared by the A-XDR
 * decoder (axdr_decode.c) and the APDU hot path (apdu_decode.c). */
#ifndef DLMSMESH_PROGRAM_H
#define DLMSMESH_PROGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "dlmsmesh.h"

/* pickle opcodes used here */
#define OP_PROTO 0x80
#define OP_FRAME 0x95
#define OP_STOP '.'
#define OP_NONE 'N'
#define OP_NEWTRUE 0x88
#define OP_NEWFALSE 0x89
#define OP_BININT 'J'
#define OP_BININT1 'K'
#define OP_BININT2 'M'
#define OP_LONG1 0x8a
#define OP_BINFLOAT 'G'
#define OP_SHORT_BINBYTES 'C'
#define OP_BINBYTES 'B'
#define OP_SHORT_BINUNICODE 0x8c
#define OP_BINUNICODE 'X'
#define OP_MARK '('
#define OP_EMPTY_LIST ']'
#define OP_APPENDS 'e'
#define OP_EMPTY_TUPLE ')'
#define OP_TUPLE 't'
#define OP_TUPLE1 0x85
#define OP_TUPLE2 0x86
#define OP_NEWOBJ 0x81
#define OP_REDUCE 'R'
#define OP_BINGET 'h'
#define OP_LONG_BINGET 'j'

typedef struct {
    const uint8_t *in;
    size_t end;
    uint8_t *out;
    size_t cap;
    size_t len;
    int max_depth;
    size_t err_offset;
} dec_t;

DM_MUST_CHECK int dm_prog_put1(dec_t *d, uint8_t b);
DM_MUST_CHECK int dm_prog_put2(dec_t *d, uint8_t a, uint8_t b);
DM_MUST_CHECK int dm_prog_memo(dec_t *d, uint32_t idx);
DM_MUST_CHECK int dm_prog_uint(dec_t *d, uint64_t v);
DM_MUST_CHECK int dm_prog_bytes(dec_t *d, const uint8_t *p, size_t n);
DM_MUST_CHECK int dm_prog_length(dec_t *d, size_t *pos, size_t stop, uint32_t *val);
/* one Data value at *pos, max_depth from d */
DM_MUST_CHECK int dm_prog_value(dec_t *d, size_t *pos);

#endif
