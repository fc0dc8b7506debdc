/* Internal to the C core: fixed-size A-XDR contents of the column kinds
 * (DM_COL_*) and the proleptic Gregorian calendar, shared by
 * the row encoder of axdr_encode.c and the column codec of columns_*.c. */
#ifndef DLMSMESH_COLUMNS_H
#define DLMSMESH_COLUMNS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bytes.h"
#include "dlmsmesh.h"

/* content octets of a number kind; 0 for the octets kinds, -1 for no kind */
static inline int col_number_size(int kind)
{
    switch (kind) {
    case DM_COL_U8: case DM_COL_I8: case DM_COL_BOOL: return 1;
    case DM_COL_U16: case DM_COL_I16: return 2;
    case DM_COL_U32: case DM_COL_I32: case DM_COL_F32: return 4;
    case DM_COL_U64: case DM_COL_I64: case DM_COL_F64: return 8;
    case DM_COL_FIXED_OCTETS: case DM_COL_OCTETS: case DM_COL_DATETIME: return 0;
    default: return -1;
    }
}

/* Write value r of a number column (host order in values) big-endian at p;
 * returns the octets written.  Floats go bit for bit. */
static inline size_t col_put_number(uint8_t *p, int kind, const void *values, size_t r)
{
    switch (kind) {
    case DM_COL_U8: case DM_COL_I8:
        p[0] = ((const uint8_t *)values)[r];
        return 1;
    case DM_COL_BOOL:
        p[0] = ((const uint8_t *)values)[r] ? 1 : 0;
        return 1;
    case DM_COL_U16: case DM_COL_I16:
        dm_put_be(p, ((const uint16_t *)values)[r], 2);
        return 2;
    case DM_COL_U32: case DM_COL_I32:
        dm_put_be(p, ((const uint32_t *)values)[r], 4);
        return 4;
    case DM_COL_F32: {
        uint32_t bits;
        memcpy(&bits, (const float *)values + r, 4);
        dm_put_be(p, bits, 4);
        return 4;
    }
    case DM_COL_F64: {
        uint64_t bits;
        memcpy(&bits, (const double *)values + r, 8);
        dm_put_be(p, bits, 8);
        return 8;
    }
    default: /* U64, I64 */
        dm_put_be(p, ((const uint64_t *)values)[r], 8);
        return 8;
    }
}

/* Store the big-endian content at p as value r of a number column. */
static inline void col_get_number(const uint8_t *p, int kind, void *values, size_t r)
{
    switch (kind) {
    case DM_COL_U8: case DM_COL_I8:
        ((uint8_t *)values)[r] = p[0];
        break;
    case DM_COL_BOOL:
        ((uint8_t *)values)[r] = p[0] ? 1 : 0;
        break;
    case DM_COL_U16: case DM_COL_I16:
        ((uint16_t *)values)[r] = (uint16_t)dm_be(p, 2);
        break;
    case DM_COL_U32: case DM_COL_I32:
        ((uint32_t *)values)[r] = (uint32_t)dm_be(p, 4);
        break;
    case DM_COL_F32: {
        uint32_t bits = (uint32_t)dm_be(p, 4);
        memcpy((float *)values + r, &bits, 4);
        break;
    }
    case DM_COL_F64: {
        uint64_t bits = dm_be(p, 8);
        memcpy((double *)values + r, &bits, 8);
        break;
    }
    default: /* U64, I64 */
        ((uint64_t *)values)[r] = dm_be(p, 8);
        break;
    }
}

/* Days since 1970-01-01 of a proleptic Gregorian date (any year), and back
 * (H. Hinnant's days_from_civil / civil_from_days). */
static inline int64_t col_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static inline void col_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static inline int col_days_in_month(int64_t y, int m)
{
    static const uint8_t days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
        return 29;
    return days[m - 1];
}

static inline int64_t col_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The date-time and null cells of the column decoders (columns_decode.c,
 * push_columns.c): the same rules for profile rows and push bodies. */

/* The day number of the last date converted: rows of a profile (and the
 * pushes of one interval) mostly share their date with the one before. */
typedef struct {
    uint32_t key; /* year << 16 | month << 8 | day, 0 before the first */
    int64_t days;
} col_day_cache;

/* The epoch of a 12-octet date-time, or DM_COL_NAT when its fields name no
 * moment (a field not specified, a pattern, or out of range). */
static inline int64_t col_epoch_of(const uint8_t *b, int64_t unit, int flags, col_day_cache *dc)
{
    int64_t year = (int64_t)dm_be(b, 2);
    int month = b[2], day = b[3], hour = b[5], minute = b[6], second = b[7], hundredths = b[8];
    int16_t deviation = (int16_t)dm_be(b + 9, 2);
    if (hour > 23 || minute > 59 || second > 59 || (hundredths > 99 && hundredths != 0xFF))
        return DM_COL_NAT;
    uint32_t key = (uint32_t)year << 16 | (uint32_t)month << 8 | (uint32_t)day;
    if (key != dc->key) {
        if (year == 0xFFFF || month < 1 || month > 12 || day < 1 || day > col_days_in_month(year, month))
            return DM_COL_NAT;
        dc->key = key;
        dc->days = col_days_from_civil(year, month, day);
    }
    int64_t secs = dc->days * 86400 + hour * 3600 + minute * 60 + second;
    if (deviation != DM_DEVIATION_NOT_SPECIFIED)
        secs += (flags & DM_COLUMNS_REVERSED_SIGN ? -60 : 60) * (int64_t)deviation;
    return secs * unit + (hundredths == 0xFF ? 0 : hundredths * unit / 100);
}

static inline void col_put_datetime(dm_colspec *col, size_t r, const uint8_t *b, int64_t unit, int flags, col_day_cache *dc)
{
    ((int64_t *)col->values)[r] = col_epoch_of(b, unit, flags, dc);
    col->deviation[r] = (int16_t)dm_be(b + 9, 2);
    col->status[r] = b[11];
}

static inline void col_put_null(dm_colspec *col, size_t r)
{
    col->valid[r] = 0;
    switch (col->kind) {
    case DM_COL_DATETIME:
        ((int64_t *)col->values)[r] = DM_COL_NAT;
        col->deviation[r] = DM_DEVIATION_NOT_SPECIFIED;
        col->status[r] = 0xFF;
        break;
    case DM_COL_FIXED_OCTETS: case DM_COL_OCTETS:
        col->offsets[r + 1] = col->offsets[r];
        break;
    default: {
        static const uint8_t zero[8] = {0};
        col_get_number(zero, col->kind, col->values, r);
        break;
    }
    }
}

#endif
