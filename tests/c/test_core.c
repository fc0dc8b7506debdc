/* C unit tests of the dlmsmesh core (issue 7): known-answer vectors of the
 * spec notes for every entry point, then a replay of the committed fuzz
 * corpora (tests/fuzz/corpus) through every harness of tests/fuzz.  Built
 * with ASan+UBSan for CI (`make -C tests/c test`) and without sanitizers for
 * valgrind (`make -C tests/c valgrind`).  No Python needed.
 *
 *     test_core [CORPUS_DIR]      every file of CORPUS_DIR/<target>/ replayed
 *     test_core --only TARGET DIR  no known answers: DIR/TARGET/ replayed alone
 *                                  (per-target line coverage, `make -C tests/c coverage-targets`)
 *
 * Prints one line per failed check and closes with "N passed, N failed".
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bytes.h"
#include "dlmsmesh.h"

/* the harnesses, compiled with LLVMFuzzerTestOneInput renamed */
int fuzz_axdr_one(const uint8_t *data, size_t size);
int fuzz_ber_one(const uint8_t *data, size_t size);
int fuzz_apdu_one(const uint8_t *data, size_t size);
int fuzz_secure_one(const uint8_t *data, size_t size);
int fuzz_wrapper_one(const uint8_t *data, size_t size);
int fuzz_iphc_one(const uint8_t *data, size_t size);
int fuzz_frag_one(const uint8_t *data, size_t size);
int fuzz_columns_one(const uint8_t *data, size_t size);
int fuzz_pipeline_one(const uint8_t *data, size_t size);
int fuzz_pipe_encode_one(const uint8_t *data, size_t size);
int fuzz_push_one(const uint8_t *data, size_t size);
void fuzz_secure_teardown(void);
void fuzz_pipeline_teardown(void);
void fuzz_pipe_encode_teardown(void);

static const struct {
    const char *name;
    int (*one)(const uint8_t *, size_t);
} HARNESSES[] = {
    {"axdr", fuzz_axdr_one},       {"ber", fuzz_ber_one},   {"apdu", fuzz_apdu_one}, {"secure", fuzz_secure_one},
    {"wrapper", fuzz_wrapper_one}, {"iphc", fuzz_iphc_one}, {"frag", fuzz_frag_one}, {"columns", fuzz_columns_one},
    {"pipeline", fuzz_pipeline_one}, {"pipe_encode", fuzz_pipe_encode_one}, {"push", fuzz_push_one},
};
#define NHARNESSES (sizeof HARNESSES / sizeof HARNESSES[0])

static int passed, failed;

#define EXPECT(cond)                                                               \
    do {                                                                           \
        if (cond) {                                                                \
            passed++;                                                              \
        } else {                                                                   \
            failed++;                                                              \
            fprintf(stderr, "FAIL %s:%d (%s): %s\n", __FILE__, __LINE__, __func__, #cond); \
        }                                                                          \
    } while (0)

/* hex (spaces allowed) -> a malloc'd exact-size buffer */
static uint8_t *hex(const char *s, size_t *n)
{
    size_t len = strlen(s), k = 0;
    uint8_t *out = malloc(len / 2 + 1);
    int hi = -1;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (v < 0)
            continue;
        if (hi < 0) {
            hi = v;
        } else {
            out[k++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    *n = k;
    return realloc(out, k ? k : 1);
}

/* ------------------------------------------------------------------------ */

/* examples A1-A36 (tests/vectors/axdr_examples.json) */
static const char *AXDR_EXAMPLES[] = {
    "00",
    "0301",
    "040a40c0",
    "05fffffffe",
    "0612345678",
    "09060000010000ff",
    "090c07e8030f050c1e2d00ffc400",
    "0a03414243",
    "0c05c3a4e282ac",
    "0d12",
    "0fff",
    "10fed4",
    "11c8",
    "1203e8",
    "14fffffffffffffffe",
    "150000010000000000",
    "161e",
    "173fc00000",
    "18bfb999999999999a",
    "1907e8030f050c1e2d00ffc400",
    "1907e807010108000000ff8880",
    "19ffff030fff0c1e2dff8000ff",
    "1a07e8030f05",
    "1b173b3aff",
    "ff",
    "0103120001120002120003",
    "02020ffd161e",
    "0102020412000809060000010000ff0f02120000020412000309060100010800ff0f02120000",
    "0981c80000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "0982012c000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b",
    "0181821100110111021103110411051106110711081109110a110b110c110d110e110f1110111111121113111411151116111711181119111a111b111c111d111e111f1120112111221123112411251126112711281129112a112b112c112d112e112f1130113111321133113411351136113711381139113a113b113c113d113e113f1140114111421143114411451146114711481149114a114b114c114d114e114f1150115111521153115411551156115711581159115a115b115c115d115e115f1160116111621163116411651166116711681169116a116b116c116d116e116f1170117111721173117411751176117711781179117a117b117c117d117e117f11801181",
    "131206000100020003",
    "13020212060c00010000000a000200000014",
    "13090803aabbcc03010203",
    "1302031209160a000102aabb1e0002001b",
    "13020212010002110800010a0b00020c0d"
,
};

static void test_axdr(void)
{
    uint8_t out[4096];
    dm_decode_result res;
    for (size_t i = 0; i < sizeof AXDR_EXAMPLES / sizeof AXDR_EXAMPLES[0]; i++) {
        size_t n;
        uint8_t *in = hex(AXDR_EXAMPLES[i], &n);
        int rc = dm_axdr_decode(in, n, 0, 64, DM_DECODE_WHOLE, out, sizeof out, &res);
        EXPECT(rc == DM_OK && res.end == n);
        if (rc != DM_OK)
            fprintf(stderr, "  example %s: rc %d at %zu\n", AXDR_EXAMPLES[i], rc, res.err_offset);
        EXPECT(fuzz_axdr_one(in, n) == 0);
        free(in);
    }
    /* A14 long-unsigned 1000: the class of tag 18, BININT2 1000, NEWOBJ */
    static const uint8_t A14[] = {0x12, 0x03, 0xE8};
    static const uint8_t PROG[] = {0x80, 4, 0x95, 8, 0, 0, 0, 0, 0, 0, 0, 'h', DM_MEMO_CLASS_BASE + 18,
                                   'M', 0xE8, 0x03, 0x85, 0x81, '.'};
    EXPECT(dm_axdr_decode(A14, 3, 0, 64, DM_DECODE_WHOLE, out, sizeof out, &res) == DM_OK);
    EXPECT(res.out_len == sizeof PROG && memcmp(out, PROG, sizeof PROG) == 0);
    /* errors: truncated, bad tag, trailing, too deep, no space, bad argument */
    static const uint8_t TRUNC[] = {0x12, 0x03};
    EXPECT(dm_axdr_decode(TRUNC, 2, 0, 64, 0, out, sizeof out, &res) == DM_ERR_TRUNCATED && res.err_offset == 1);
    static const uint8_t BADTAG[] = {0x01, 0x01, 0x07};
    EXPECT(dm_axdr_decode(BADTAG, 3, 0, 64, 0, out, sizeof out, &res) == DM_ERR_BAD_TAG && res.err_offset == 2);
    static const uint8_t TRAIL[] = {0x00, 0x00};
    EXPECT(dm_axdr_decode(TRAIL, 2, 0, 64, DM_DECODE_WHOLE, out, sizeof out, &res) == DM_ERR_TRAILING &&
           res.err_offset == 1);
    static const uint8_t DEEP[] = {0x01, 0x01, 0x01, 0x01, 0x00};
    EXPECT(dm_axdr_decode(DEEP, 5, 0, 1, 0, out, sizeof out, &res) == DM_ERR_TOO_DEEP);
    EXPECT(dm_axdr_decode(A14, 3, 0, 64, 0, out, 16, &res) == DM_ERR_NO_SPACE);
    EXPECT(dm_axdr_decode(A14, 3, 4, 64, 0, out, sizeof out, &res) == DM_ERR_BAD_ARGUMENT);
    static const uint8_t UTF8[] = {0x0C, 0x02, 0xC0, 0x80}; /* overlong */
    EXPECT(dm_axdr_decode(UTF8, 4, 0, 64, 0, out, sizeof out, &res) == DM_ERR_BAD_UTF8 && res.err_offset == 2);

    /* dm_axdr_pack_rows: two rows {long-unsigned, double-long-unsigned} */
    uint16_t a[2] = {1, 2};
    uint32_t b[2] = {10, 20};
    dm_column cols[2] = {{DM_COL_U16, 18, 0, a, NULL}, {DM_COL_U32, 6, 0, b, NULL}};
    uint8_t packed[32];
    size_t n;
    uint8_t *want = hex("0202 1200 01 0600 00000A 0202 120002 0600000014", &n);
    EXPECT(dm_axdr_pack_rows(cols, 2, 2, 2, packed, sizeof packed) == (int64_t)n && memcmp(packed, want, n) == 0);
    EXPECT(dm_axdr_pack_rows(cols, 2, 2, 2, packed, n - 1) == DM_ERR_NO_SPACE);
    free(want);

    /* the delta types 28-33: a tag and 1/2/4 big-endian octets, signed or not */
    static const char *DELTAS[] = {"1c80", "1d8000", "1e80000000", "1fff", "20ffff", "21ffffffff",
                                   "131d04fffe0003", "1302021e1c05000000017f", "01021cfd2000ff"};
    for (size_t i = 0; i < sizeof DELTAS / sizeof DELTAS[0]; i++) {
        size_t dn;
        uint8_t *in = hex(DELTAS[i], &dn);
        EXPECT(dm_axdr_decode(in, dn, 0, 64, DM_DECODE_WHOLE, out, sizeof out, &res) == DM_OK && res.end == dn);
        EXPECT(fuzz_axdr_one(in, dn) == 0);
        free(in);
    }
    /* delta-integer -3: the class of tag 28, BININT -3 (not a shared octet), NEWOBJ */
    static const uint8_t D28[] = {0x1C, 0xFD};
    static const uint8_t D28_PROG[] = {0x80, 4, 0x95, 10, 0, 0, 0, 0, 0, 0, 0, 'h', DM_MEMO_CLASS_BASE + 28,
                                       'J', 0xFD, 0xFF, 0xFF, 0xFF, 0x85, 0x81, '.'};
    EXPECT(dm_axdr_decode(D28, 2, 0, 64, DM_DECODE_WHOLE, out, sizeof out, &res) == DM_OK);
    EXPECT(res.out_len == sizeof D28_PROG && memcmp(out, D28_PROG, sizeof D28_PROG) == 0);
    /* delta-long-unsigned 65535 */
    static const uint8_t D32[] = {0x20, 0xFF, 0xFF};
    static const uint8_t D32_PROG[] = {0x80, 4, 0x95, 8, 0, 0, 0, 0, 0, 0, 0, 'h', DM_MEMO_CLASS_BASE + 32,
                                       'M', 0xFF, 0xFF, 0x85, 0x81, '.'};
    EXPECT(dm_axdr_decode(D32, 3, 0, 64, DM_DECODE_WHOLE, out, sizeof out, &res) == DM_OK);
    EXPECT(res.out_len == sizeof D32_PROG && memcmp(out, D32_PROG, sizeof D32_PROG) == 0);
    EXPECT(DM_MEMO_CLASS_BASE + DM_MEMO_CLASS_LAST_TAG < DM_MEMO_CACHE_BASE);
    static const uint8_t DTRUNC[] = {0x1E, 0x00, 0x00, 0x00};
    EXPECT(dm_axdr_decode(DTRUNC, 4, 0, 64, 0, out, sizeof out, &res) == DM_ERR_TRUNCATED && res.err_offset == 1);
    static const uint8_t DNEXT[] = {0x01, 0x01, 0x22}; /* 34: not a tag */
    EXPECT(dm_axdr_decode(DNEXT, 3, 0, 64, 0, out, sizeof out, &res) == DM_ERR_BAD_TAG && res.err_offset == 2);
    static const uint8_t DOVER[] = {0x13, 0x1D, 0x03, 0x00, 0x01, 0x0F}; /* a delta-long cut by the contents */
    EXPECT(dm_axdr_decode(DOVER, 6, 0, 64, 0, out, sizeof out, &res) == DM_ERR_COMPACT_OVERRUN && res.err_offset == 5);
    /* rows of {delta-integer, delta-double-long-unsigned} packed from columns */
    int8_t da[2] = {-1, 2};
    uint32_t db[2] = {70000, 0};
    dm_column dcols[2] = {{DM_COL_I8, 28, 0, da, NULL}, {DM_COL_U32, 33, 0, db, NULL}};
    want = hex("0202 1cff 2100011170 0202 1c02 2100000000", &n);
    EXPECT(dm_axdr_pack_rows(dcols, 2, 2, 2, packed, sizeof packed) == (int64_t)n && memcmp(packed, want, n) == 0);
    free(want);
}

static void test_columns(void)
{
    size_t n;
    uint8_t *in = hex("01 02  02 02 12 0001 06 0000000A  02 02 12 0002 06 00000014", &n);
    uint16_t a[2];
    uint32_t b[2];
    dm_colspec cols[2];
    memset(cols, 0, sizeof cols);
    cols[0].kind = DM_COL_U16, cols[0].tag = 18, cols[0].values = a;
    cols[1].kind = DM_COL_U32, cols[1].tag = 6, cols[1].values = b;
    dm_columns_result res;
    EXPECT(dm_columns_decode(in, n, 0, 2, cols, 2, 1, DM_COLUMNS_WHOLE, &res) == DM_OK && res.end == n);
    EXPECT(a[0] == 1 && a[1] == 2 && b[0] == 10 && b[1] == 20);
    uint8_t out[64];
    EXPECT(dm_columns_encode(cols, 2, 2, 1, 0, out, sizeof out, &res) == (int64_t)n && memcmp(out, in, n) == 0);
    EXPECT(dm_columns_encode(cols, 2, 2, 1, 0, out, n - 1, &res) == DM_ERR_NO_SPACE && res.end == n);
    /* a field of another type: row 1, field 0, offset 14 */
    in[14] = 0x11;
    EXPECT(dm_columns_decode(in, n, 0, 2, cols, 2, 1, DM_COLUMNS_WHOLE, &res) == DM_ERR_COL_FIELD &&
           res.err_row == 1 && res.err_field == 0 && res.err_offset == 14 && res.err_found == 0x11);
    EXPECT(fuzz_columns_one(in, n) == 0);
    free(in);

    /* a date-time column (A20: 2024-03-15 12:30:45.00, deviation -60) */
    in = hex("01 01 02 01 19 07E8030F050C1E2D00FFC400", &n);
    int64_t epoch[1];
    int16_t dev[1];
    uint8_t status[1];
    dm_colspec dt;
    memset(&dt, 0, sizeof dt);
    dt.kind = DM_COL_DATETIME, dt.tag = 25, dt.values = epoch, dt.deviation = dev, dt.status = status;
    EXPECT(dm_columns_decode(in, n, 0, 1, &dt, 1, 1, DM_COLUMNS_WHOLE, &res) == DM_OK);
    /* 2024-03-15 12:30:45 local, deviation -60: UTC 11:30:45 = 1710502245 */
    EXPECT(epoch[0] == 1710502245 && dev[0] == -60 && status[0] == 0);
    EXPECT(fuzz_columns_one(in, n) == 0);
    free(in);
}

/* pushes as columns: the data-notifications of a decoded batch, one row each */
static void test_push(void)
{
    size_t n;
    /* frames back to back: a notification without and one with a date-time,
     * a get-response, a notification of another layout, a frame that failed */
    uint8_t *in = hex("0F00000007 00 0202 060000002A 10FFFE"
                      "0F00000008 0C07EA0C06070A0F0000FFC400 0202 0600000001 100001"
                      "C401C100 0600000001"
                      "0F00000009 00 0202 0600000001 0F01"
                      "0F0000000A 00 0202 0600000001 100001",
                      &n);
    static const uint32_t at[6] = {0, 16, 44, 53, 68, 84};
    dm_pipe_item items[5];
    memset(items, 0, sizeof items);
    for (size_t i = 0; i < 5; i++)
        items[i].base = at[i], items[i].plain_len = at[i + 1] - at[i], items[i].apdu = DM_PIPE_NONE;
    items[4].status = DM_ERR_SEC_AUTH;
    dm_push_batch batch = {items, 5, in, n, NULL, 0, NULL, 0, NULL, NULL, 0};
    static const uint16_t shape[3] = {2, DM_PUSH_SHAPE_FIELD, DM_PUSH_SHAPE_FIELD};
    uint32_t frame[5], ic[5], invoke[5], energy[5];
    uint8_t title[40], ic_ok[5], dt_ok[5], dt_status[5];
    int64_t title_off[6], epoch[5];
    int16_t power[5], dev[5];
    dm_colspec meta[DM_PUSH_META], cols[2];
    memset(meta, 0, sizeof meta);
    memset(cols, 0, sizeof cols);
    meta[0].kind = DM_COL_U32, meta[0].values = frame;
    meta[1].kind = DM_COL_OCTETS, meta[1].values = title, meta[1].offsets = title_off, meta[1].capacity = 40;
    meta[2].kind = DM_COL_U32, meta[2].nullable = 1, meta[2].values = ic, meta[2].valid = ic_ok;
    meta[3].kind = DM_COL_U32, meta[3].values = invoke;
    meta[4].kind = DM_COL_DATETIME, meta[4].nullable = 1, meta[4].values = epoch, meta[4].valid = dt_ok;
    meta[4].deviation = dev, meta[4].status = dt_status;
    cols[0].kind = DM_COL_U32, cols[0].tag = 6, cols[0].values = energy;
    cols[1].kind = DM_COL_I16, cols[1].tag = 16, cols[1].values = power;
    int32_t outcome[20];
    EXPECT(dm_push_columns(&batch, shape, 3, meta, cols, 2, 1, 0, outcome) == 2);
    EXPECT(frame[0] == 0 && frame[1] == 1 && invoke[0] == 7 && invoke[1] == 8);
    EXPECT(energy[0] == 42 && power[0] == -2 && energy[1] == 1 && power[1] == 1);
    EXPECT(title_off[1] == 0 && title_off[2] == 0 && ic_ok[0] == 0 && ic_ok[1] == 0);
    /* 2026-12-06 10:15 at deviation -60: 09:15 UTC */
    EXPECT(dt_ok[0] == 0 && epoch[0] == DM_COL_NAT && dt_ok[1] == 1 && epoch[1] == 1796548500 && dev[1] == -60);
    EXPECT(outcome[0] == DM_PUSH_TAKEN && outcome[4] == DM_PUSH_TAKEN);
    EXPECT(outcome[8] == DM_PUSH_NOT_NOTIFICATION && outcome[11] == 0xC4);
    /* an integer where the layout has a long: offset 13 of that plaintext, field 1, found tag 15 */
    EXPECT(outcome[12] == DM_ERR_COL_FIELD && outcome[13] == 13 && outcome[14] == 1 && outcome[15] == 15);
    EXPECT(outcome[16] == DM_PUSH_FAILED);
    /* a shape naming another number of fields than the columns */
    EXPECT(dm_push_columns(&batch, shape, 2, meta, cols, 2, 1, 0, outcome) == DM_ERR_BAD_ARGUMENT);
    free(in);
}

static void test_ber(void)
{
    size_t n;
    uint8_t *in = hex("60 1D A1 09 06 07 60 85 74 05 08 01 01 BE 10 04 0E 01 00 00 00 06 5F 1F 04 00 00 7E 1F 04 00", &n);
    dm_ber_node nodes[8];
    dm_ber_result res;
    EXPECT(dm_ber_walk(in, n, 0, n, 64, 0, nodes, 8, &res) == DM_OK && res.count == 5 && res.end == n);
    static const uint32_t NUM[5] = {0, 1, 6, 30, 4}, DEPTH[5] = {0, 1, 2, 1, 2}, LEN[5] = {0x1D, 9, 7, 16, 14};
    for (int i = 0; i < 5; i++)
        EXPECT(nodes[i].number == NUM[i] && nodes[i].depth == DEPTH[i] && nodes[i].length == LEN[i]);
    EXPECT(nodes[0].cls == 0x40 && nodes[1].cls == 0x80 && nodes[2].cls == 0 && nodes[0].constructed == 1);
    EXPECT(dm_ber_walk(in, n, 0, n, 64, 0, nodes, 2, &res) == DM_ERR_NO_SPACE && res.count == 5);
    EXPECT(dm_ber_walk(in, n, 0, n, 1, 0, nodes, 8, &res) == DM_ERR_TOO_DEEP);
    EXPECT(fuzz_ber_one(in, n) == 0);
    in[1] = 0x80;
    EXPECT(dm_ber_walk(in, n, 0, n, 64, 0, nodes, 8, &res) == DM_ERR_BER_INDEFINITE && res.err_offset == 1);
    free(in);
    uint8_t h[10];
    EXPECT(dm_ber_header(0x60, 0, 0x1D, h, sizeof h) == 2 && h[0] == 0x60 && h[1] == 0x1D);
    EXPECT(dm_ber_header(0xA0, 31, 200, h, sizeof h) == 4 && h[0] == 0xBF && h[1] == 0x1F && h[2] == 0x81 &&
           h[3] == 0xC8);
    EXPECT(dm_ber_header(0x61, 0, 0, h, sizeof h) == DM_ERR_BAD_ARGUMENT);
}

static void test_apdu(void)
{
    uint8_t out[1024];
    dm_apdu_ctx ctx = {out, sizeof out, {0, 0, 0, 0}, 0};
    size_t n;
    uint8_t *in = hex("C4 01 C1 01 04", &n); /* X3: data-access-result 4 */
    EXPECT(dm_apdu_decode((const char *)in, n, &ctx) == (DM_APDU_SCALAR | 0xC1 << 8 | 255) && ctx.value == 4);
    free(in);
    in = hex("C4 01 C1 00 12 03 E8", &n);
    EXPECT(dm_apdu_decode((const char *)in, n, &ctx) == (DM_APDU_SCALAR | 0xC1 << 8 | 18) && ctx.value == 1000);
    free(in);
    in = hex("C4 01 C1 00 09 0C 07E8030F050C1E2D00FFC400", &n); /* X2 */
    EXPECT(dm_apdu_decode((const char *)in, n, &ctx) == (DM_APDU_SCALAR | 0xC1 << 8 | 9));
    EXPECT(fuzz_apdu_one(in, n) == 0);
    free(in);
    in = hex("0F 00 00 00 01 00 02 02 12 00 05 09 02 AB CD", &n); /* data-notification */
    int rc = dm_apdu_decode((const char *)in, n, &ctx);
    EXPECT(rc > 0 && !(rc & DM_APDU_SCALAR) && ctx.res.end == n);
    EXPECT(fuzz_apdu_one(in, n) == 0);
    free(in);
    in = hex("E0 C1 00 01 00 00 03 C4 01 C1", &n); /* general-block-transfer */
    rc = dm_apdu_decode((const char *)in, n, &ctx);
    EXPECT(rc > 0 && !(rc & DM_APDU_SCALAR));
    free(in);
    in = hex("C0 01 C1 00 08 00 00 01 00 00 FF 02 00", &n); /* X1: not on the hot path */
    EXPECT(dm_apdu_decode((const char *)in, n, &ctx) == DM_ERR_APDU_NOT_HOT);
    free(in);
    in = hex("C4 01 C1 00 01 02 12 00", &n); /* truncated inside the Data value */
    EXPECT(dm_apdu_decode((const char *)in, n, &ctx) == DM_ERR_TRUNCATED && ctx.res.in_data == 1);
    free(in);
    in = hex("C4 01 C1 02 00", &n);
    EXPECT(dm_apdu_decode((const char *)in, n, &ctx) == DM_ERR_APDU_FLAG && ctx.res.err_offset == 3);
    free(in);
}

/* examples S1-S11 (tests/vectors/security_examples.json) */
static void test_secure(void)
{
    size_t n, ekn, akn, tn, pn;
    uint8_t *ek = hex("000102030405060708090A0B0C0D0E0F", &ekn), *ak = hex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF", &akn);
    uint8_t *title = hex("4D4D4D0000BC614E", &tn), *plain = hex("C0010000080000010000FF0200", &pn);
    dm_secure_key *key = NULL;
    EXPECT(dm_secure_key_new(ek, ekn, ak, akn, &key) == DM_OK && key != NULL);
    static const char *FRAMES[] = {
        "C81E3001234567411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B", /* S1 */
        "C81E1001234567C0010000080000010000FF020006725D910F9221D263877516", /* S2 */
        "C8122001234567411312FF935A47566827C467BC",                         /* S3 */
        "DB084D4D4D0000BC614E1E3001234567411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B", /* S4 */
    };
    dm_secure_peer peer;
    memset(&peer, 0, sizeof peer);
    memcpy(peer.title, title, 8);
    peer.unicast = key;
    for (int i = 0; i < 4; i++) {
        uint8_t *f = hex(FRAMES[i], &n);
        uint8_t out[128];
        uint32_t offs[2] = {0, (uint32_t)n};
        dm_secure_item item;
        EXPECT(dm_secure_open_batch(&peer, 1, 0, f, offs, 1, out, sizeof out, &item) == 1);
        EXPECT(item.status == DM_OK && item.plain_len == pn && memcmp(out + item.plain, plain, pn) == 0);
        EXPECT(item.ic == 0x01234567);
        EXPECT(fuzz_secure_one(f, n) == 0);
        /* one flipped bit of the tag: authentication fails and no plaintext is left */
        if (i != 2) { /* S3 is encrypted only: there is no tag */
            f[n - 1] ^= 1;
            memset(out, 0, sizeof out);
            EXPECT(dm_secure_open_batch(&peer, 1, 0, f, offs, 1, out, sizeof out, &item) == 0);
            EXPECT(item.status == DM_ERR_SEC_AUTH && item.err_offset == n - 12);
            int clean = 1;
            for (size_t k = 0; k < sizeof out; k++)
                clean &= out[k] == 0;
            EXPECT(clean);
        }
        free(f);
    }
    /* one frame of an association: dm_secure_open_glo takes the service-specific glo- frames
     * (S1-S3) under the unicast key, packing plain_len | sc << 16 | ic << 24, and leaves the
     * rest (S4, general-glo) as DM_ERR_SEC_TAG */
    static const uint8_t SC_OF[3] = {0x30, 0x10, 0x20};
    for (int i = 0; i < 4; i++) {
        uint8_t *f = hex(FRAMES[i], &n);
        char out[128];
        int64_t got = dm_secure_open_glo(&peer, f, n, out, sizeof out);
        if (i < 3) {
            EXPECT(got >= 0 && (size_t)(got & 0xFFFF) == pn && memcmp(out, plain, pn) == 0);
            EXPECT(((got >> 16) & 0xFF) == SC_OF[i] && (got >> 24) == 0x01234567);
        } else {
            EXPECT(got == DM_ERR_SEC_TAG);
        }
        EXPECT(dm_secure_open_glo(&peer, f, n - 1, out, sizeof out) < 0); /* truncated */
        EXPECT(dm_secure_open_glo(&peer, f, n, out, n - 1) == DM_ERR_BAD_ARGUMENT);
        if (i == 0) {
            f[n - 1] ^= 1; /* the tag fails: an error, the plaintext cleansed */
            memset(out, 0x55, sizeof out);
            EXPECT(dm_secure_open_glo(&peer, f, n, out, sizeof out) == DM_ERR_SEC_AUTH);
            int clean = 1;
            for (size_t k = 0; k < pn; k++)
                clean &= out[k] == 0;
            EXPECT(clean);
            f[n - 1] ^= 1;
            f[2] |= 0x40; /* the broadcast key: a group request, not this road */
            EXPECT(dm_secure_open_glo(&peer, f, n, out, sizeof out) == DM_ERR_SEC_TAG);
        }
        free(f);
    }
    {
        /* dm_secure_seal_one: S1's frame whole, and the batch entry's refusals */
        uint8_t *s1f = hex(FRAMES[0], &n);
        char one[64];
        EXPECT(dm_secure_seal_one(key, 0x30, title, 0x01234567, DM_SEC_FRAME_GLO, plain, pn, one, sizeof one) ==
               (int64_t)n);
        EXPECT(memcmp(one, s1f, n) == 0);
        EXPECT(dm_secure_seal_one(key, 0x30, title, 1, DM_SEC_FRAME_GLO, plain, pn, one, n - 1) == DM_ERR_NO_SPACE);
        static const uint8_t NOT_SERVICE[2] = {0x99, 0x00};
        EXPECT(dm_secure_seal_one(key, 0x30, title, 1, DM_SEC_FRAME_GLO, NOT_SERVICE, 2, one, sizeof one) ==
               DM_ERR_SEC_TAG);
        EXPECT(dm_secure_seal_one(key, 0x30, title, 1, 9, plain, pn, one, sizeof one) == DM_ERR_BAD_ARGUMENT);
        free(s1f);
    }
    /* seal: S1's content again */
    uint8_t sealed[64];
    size_t sealed_len;
    uint8_t *s1 = hex(FRAMES[0], &n);
    EXPECT(dm_secure_seal(key, 0x30, title, 0x01234567, NULL, 0, plain, pn, sealed, sizeof sealed, &sealed_len) ==
           DM_OK);
    EXPECT(sealed_len == n - 2 && memcmp(sealed, s1 + 2, sealed_len) == 0);
    size_t opened;
    uint8_t back[64];
    EXPECT(dm_secure_open(key, title, s1 + 2, n - 2, NULL, 0, back, sizeof back, &opened) == DM_OK && opened == pn &&
           memcmp(back, plain, pn) == 0);
    dm_secure_frame fr;
    size_t err;
    EXPECT(dm_secure_parse(s1, n, &fr, &err) == DM_OK && fr.kind == DM_SEC_SERVICE_GLO && fr.sc == 0x30 &&
           fr.content == 2 && fr.content_len == n - 2);
    EXPECT(dm_secure_parse(s1, n - 1, &fr, &err) == DM_ERR_TRUNCATED);
    free(s1);
    /* S10: general-ciphering, the header in the AAD */
    uint8_t *s10 = hex("DD080000000001234567084D4D4D0000BC614E084D4D4D00000000010000001E3101234567411312FF935A4756"
                       "6827C467BC52D69CE3536A059EF43F2FA4", &n);
    dm_secure_peer p10 = peer;
    p10.suite = 1;
    p10.flags = DM_SEC_HEADER_AAD;
    uint8_t out10[128];
    uint32_t offs10[2] = {0, (uint32_t)n};
    dm_secure_item item10;
    EXPECT(dm_secure_open_batch(&p10, 1, 0, s10, offs10, 1, out10, sizeof out10, &item10) == 1);
    EXPECT(item10.plain_len == pn && memcmp(out10, plain, pn) == 0);
    p10.flags = 0; /* without the header in the AAD the tag does not verify */
    EXPECT(dm_secure_open_batch(&p10, 1, 0, s10, offs10, 1, out10, sizeof out10, &item10) == 0 &&
           item10.status == DM_ERR_SEC_AUTH);
    EXPECT(fuzz_secure_one(s10, n) == 0);
    free(s10);
    /* GB RTDS 4.5.0 8.9_CS07 SUCCESS_COMMAND (SmartDCCInnovation/gbcs-parser test/rtds): a MAC-only
     * general-ciphering, SC 0x11 and IC 0, five empty header fields, the key from ECDH + the
     * SP 800-56A KDF (tests/test_gbcs_security.py) and an empty AK: AAD = 11 | 00 00 00 00 00 | P */
    size_t gn, gkn, gtn;
    uint8_t *gb = hex("dd000000000000361100000000df090100000000000003e90890b3d51f300100000800db1234567890a1000200130205"
                      "0000f018ff442ff1fbf18cce0d13", &gn);
    uint8_t *gk = hex("d17ca6ff2492e33d06ab3da67caafbc8", &gkn), *gt = hex("90b3d51f30010000", &gtn);
    static const uint8_t EMPTY_HEADER[5] = {0};
    static const uint8_t NO_AK[1] = {0};
    dm_secure_key *gkey = NULL, *nokey = NULL;
    EXPECT(dm_secure_key_new(gk, gkn, NO_AK, 0, &gkey) == DM_OK); /* non-NULL, length 0: the empty AK */
    EXPECT(dm_secure_key_new(gk, gkn, NULL, 0, &nokey) == DM_OK); /* NULL: no AK at all */
    uint8_t gout[64];
    size_t glen;
    EXPECT(dm_secure_open(gkey, gt, gb + 8, gn - 8, EMPTY_HEADER, 5, gout, sizeof gout, &glen) == DM_OK &&
           glen == gn - 8 - 5 - 12 && memcmp(gout, gb + 13, glen) == 0);
    EXPECT(dm_secure_open(gkey, gt, gb + 8, gn - 8, NULL, 0, gout, sizeof gout, &glen) == DM_ERR_SEC_AUTH);
    EXPECT(dm_secure_open(nokey, gt, gb + 8, gn - 8, EMPTY_HEADER, 5, gout, sizeof gout, &glen) == DM_ERR_SEC_NO_KEY);
    dm_secure_peer pgb;
    memset(&pgb, 0, sizeof pgb);
    memcpy(pgb.title, gt, 8);
    pgb.suite = 1;
    pgb.flags = DM_SEC_HEADER_AAD;
    pgb.unicast = gkey;
    uint32_t offsgb[2] = {0, (uint32_t)gn};
    dm_secure_item itemgb;
    EXPECT(dm_secure_open_batch(&pgb, 1, 0, gb, offsgb, 1, gout, sizeof gout, &itemgb) == 1 && itemgb.status == DM_OK &&
           itemgb.plain_len == gn - 8 - 5 - 12 && itemgb.ic == 0);
    dm_secure_key_free(gkey);
    dm_secure_key_free(nokey);
    free(gb);
    free(gk);
    free(gt);
    dm_secure_key_free(key);
    free(ek);
    free(ak);
    free(title);
    free(plain);
}

/* T1 (tests/transport_vectors.py) */
#define T1_DATAGRAM                                                                                     \
    "60000000001D114020010DB8FFFF0000000000000000001020010DB80001000002124B0000010203"                  \
    "0FDB0FDB001DAD3F000100100001000DC001C100080000010000FF0200"

static void test_offsets(void)
{
    uint32_t v[5] = {1, 2, 3, 0, 4};
    EXPECT(dm_ends_from_lengths(v, 5) == DM_OK && v[0] == 1 && v[1] == 3 && v[2] == 6 && v[3] == 6 && v[4] == 10);
    uint32_t big[3] = {0xFFFFFFFEu, 1, 1};
    EXPECT(dm_ends_from_lengths(big, 3) == DM_ERR_BAD_ARGUMENT && big[0] == 0xFFFFFFFEu && big[1] == 1);
    EXPECT(dm_ends_from_lengths(big, 2) == DM_OK && big[1] == 0xFFFFFFFFu);
    EXPECT(dm_ends_from_lengths(NULL, 0) == DM_OK);
}

/* csrc/bytes.h: the A-XDR length codec every decoder and encoder uses, and
 * the checked reads.  A reader leaves the cursor where it was on failure, so
 * the caller reports the length field's own offset. */
static int read_len(const char *hx, uint32_t *v, size_t *used)
{
    size_t n;
    uint8_t *in = hex(hx, &n);
    const uint8_t *p = in;
    int rc = dm_axdr_read_length(&p, in + n, v);
    *used = (size_t)(p - in);
    free(in);
    return rc;
}

static void test_bytes(void)
{
    uint32_t v = 0;
    size_t used = 0;
    EXPECT(read_len("7F", &v, &used) == DM_OK && v == 0x7F && used == 1);
    EXPECT(read_len("8180", &v, &used) == DM_OK && v == 0x80 && used == 2);
    EXPECT(read_len("82FFFF", &v, &used) == DM_OK && v == 0xFFFF && used == 3);
    EXPECT(read_len("83010000", &v, &used) == DM_OK && v == 0x10000 && used == 4);
    EXPECT(read_len("84FFFFFFFF", &v, &used) == DM_OK && v == 0xFFFFFFFFu && used == 5);
    /* longer forms than needed are accepted */
    EXPECT(read_len("8100", &v, &used) == DM_OK && v == 0 && used == 2);
    EXPECT(read_len("840000007F", &v, &used) == DM_OK && v == 0x7F && used == 5);
    EXPECT(read_len("8300FFFF", &v, &used) == DM_OK && v == 0xFFFF && used == 4);
    /* what the bytes after the form hold is the caller's */
    EXPECT(read_len("0509", &v, &used) == DM_OK && v == 5 && used == 1);
    /* errors: the cursor stays at the length field */
    EXPECT(read_len("", &v, &used) == DM_ERR_TRUNCATED && used == 0);
    EXPECT(read_len("80", &v, &used) == DM_ERR_BAD_LENGTH && used == 0);
    EXPECT(read_len("8500000000FF", &v, &used) == DM_ERR_BAD_LENGTH && used == 0);
    EXPECT(read_len("FF", &v, &used) == DM_ERR_BAD_LENGTH && used == 0);
    EXPECT(read_len("81", &v, &used) == DM_ERR_TRUNCATED && used == 0);
    EXPECT(read_len("84FFFFFF", &v, &used) == DM_ERR_TRUNCATED && used == 0);

    /* the writer: the shortest form at every boundary, read back */
    static const struct {
        uint32_t value;
        const char *form;
    } SHORTEST[] = {
        {0, "00"},           {0x7F, "7F"},           {0x80, "8180"},         {0xFF, "81FF"},
        {0x100, "820100"},   {0xFFFF, "82FFFF"},     {0x10000, "83010000"},  {70000, "83011170"},
        {0xFFFFFF, "83FFFFFF"}, {0x1000000, "8401000000"}, {0xFFFFFFFFu, "84FFFFFFFF"},
    };
    for (size_t k = 0; k < sizeof SHORTEST / sizeof SHORTEST[0]; k++) {
        uint8_t out[DM_AXDR_LENGTH_MAX + 1] = {0};
        size_t want_n;
        uint8_t *want = hex(SHORTEST[k].form, &want_n);
        size_t n = dm_axdr_put_length(out, SHORTEST[k].value);
        EXPECT(n == want_n && n == dm_axdr_length_size(SHORTEST[k].value) && memcmp(out, want, n) == 0);
        EXPECT(out[DM_AXDR_LENGTH_MAX] == 0);
        const uint8_t *p = out;
        EXPECT(dm_axdr_read_length(&p, out + n, &v) == DM_OK && v == SHORTEST[k].value && p == out + n);
        free(want);
    }

    /* checked reads: nothing read or moved past end */
    static const uint8_t b[5] = {0x12, 0x34, 0x56, 0x78, 0x9A};
    const uint8_t *p = b, *bytes = NULL;
    uint8_t u8 = 0;
    uint16_t u16 = 0;
    uint32_t u32 = 0;
    uint64_t u64 = 0;
    EXPECT(dm_read_be32(&p, b + 3, &u32) == DM_ERR_TRUNCATED && p == b && u32 == 0);
    EXPECT(dm_read_be16(&p, b + 3, &u16) == DM_OK && u16 == 0x1234 && p == b + 2);
    EXPECT(dm_read_be16(&p, b + 3, &u16) == DM_ERR_TRUNCATED && p == b + 2);
    EXPECT(dm_peek_u8(p, b + 3, &u8) == DM_OK && u8 == 0x56 && p == b + 2);
    EXPECT(dm_read_u8(&p, b + 3, &u8) == DM_OK && u8 == 0x56 && p == b + 3);
    EXPECT(dm_read_u8(&p, b + 3, &u8) == DM_ERR_TRUNCATED && p == b + 3);
    EXPECT(dm_peek_u8(p, b + 3, &u8) == DM_ERR_TRUNCATED);
    p = b;
    EXPECT(dm_read_be(&p, b + 5, 5, &u64) == DM_OK && u64 == 0x123456789Aull && p == b + 5);
    p = b;
    EXPECT(dm_skip(&p, b + 5, 6) == DM_ERR_TRUNCATED && p == b);
    EXPECT(dm_read_bytes(&p, b + 5, 5, &bytes) == DM_OK && bytes == b && p == b + 5);
    EXPECT(dm_read_bytes(&p, b + 5, 0, &bytes) == DM_OK && bytes == b + 5);
    dm_cur c = dm_cur_at(b, 1, 4);
    EXPECT(dm_cur_offset(&c) == 1 && dm_cur_left(&c) == 3);
    EXPECT(dm_read_be32(&c.p, c.end, &u32) == DM_ERR_TRUNCATED && dm_cur_offset(&c) == 1);

    uint8_t w[4];
    dm_put_be32(w, 0x01020304u);
    EXPECT(w[0] == 1 && w[3] == 4 && dm_be32(w) == 0x01020304u);
    dm_put_be16(w, 0xBEEF);
    EXPECT(dm_be16(w) == 0xBEEF);
    dm_put_be(w, 0xAABBCC, 3);
    EXPECT(w[0] == 0xAA && w[2] == 0xCC && dm_be(w, 3) == 0xAABBCC);
}

/* Finding of the dm_pipe_encode fuzz run (fixed in 8865a1b): with an empty
 * values buffer passed as NULL, building an APDU did pointer arithmetic on
 * NULL (values + 0), which UBSan reports; requests that carry no value must
 * encode without touching values at all. */
static void test_finding_pipe_encode_null_values(void)
{
    static const uint8_t DST[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x12, 0x4B, 0x00, 0x00, 0x04, 0x05, 0x06};
    dm_pipe_encode_config ec;
    memset(&ec, 0, sizeof ec);
    ec.layer = DM_PIPE_WRAPPER;
    ec.source = DST;
    ec.destinations = DST;
    ec.npeers = 1;
    dm_pipe_request reqs[3];
    memset(reqs, 0, sizeof reqs);
    reqs[0].kind = DM_PIPE_REQ_RAW; /* a zero-length raw APDU */
    reqs[1].kind = DM_PIPE_REQ_GET; /* get-request-normal, no value */
    reqs[1].head = 0xC1;
    reqs[1].class_id = 3;
    reqs[1].member = 2;
    reqs[2].kind = DM_PIPE_REQ_NOTIFY; /* data-notification with an empty body */
    reqs[2].head = 1;
    for (int i = 0; i < 3; i++) {
        reqs[i].sender = DM_PIPE_NONE;
        reqs[i].wports = 0x00100001u;
    }
    uint8_t apdu[64], out[256];
    uint32_t offsets[4];
    dm_pipe_encode_buffers eb;
    memset(&eb, 0, sizeof eb);
    eb.apdu = apdu;
    eb.apdu_cap = sizeof apdu;
    eb.out = out;
    eb.out_cap = sizeof out;
    eb.out_offsets = offsets;
    int64_t n = dm_pipe_encode(&ec, reqs, 3, NULL, 0, &eb);
    EXPECT(n == 8 + (8 + 13) + (8 + 6));
    EXPECT(offsets[0] == 0 && offsets[1] == 8 && offsets[2] == 29 && offsets[3] == 43);
    EXPECT(out[6] == 0 && out[7] == 0);                           /* wrapper length 0 */
    EXPECT(out[16] == 0xC0 && out[17] == 0x01 && out[18] == 0xC1); /* get-request-normal */
    EXPECT(out[37] == 0x0F && out[42] == 0);                      /* data-notification, no date-time */
}

static void test_transport(void)
{
    size_t n;
    uint8_t *d = hex(T1_DATAGRAM, &n);
    EXPECT(n == 69);
    EXPECT(dm_udp_checksum(d + 8, d + 24, d + 40, n - 40) == 0xAD3F);
    dm_wrapper w;
    size_t err;
    EXPECT(dm_wrapper_decode(d + 48, n - 48, &w, &err) == DM_OK && w.version == 1 && w.source_wport == 0x10 &&
           w.destination_wport == 1 && w.length == 13);
    EXPECT(dm_wrapper_decode(d + 48, n - 49, &w, &err) == DM_ERR_WRAPPER_LENGTH && err == 6);
    EXPECT(fuzz_wrapper_one(d + 48, n - 48) == 0);
    uint8_t hdr[8];
    EXPECT(dm_wrapper_encode(0x10, 1, 13, hdr, 8) == 8 && memcmp(hdr, d + 48, 8) == 0);

    /* IPHC: compress with context 0 = 2001:db8:1::/64, back to the same datagram */
    dm_lowpan_context ctx[DM_LOWPAN_CONTEXTS];
    memset(ctx, 0, sizeof ctx);
    static const uint8_t P1[8] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0, 0};
    memcpy(ctx[0].prefix, P1, 8);
    ctx[0].length = 64;
    ctx[0].flags = DM_CONTEXT_DECOMPRESS | DM_CONTEXT_COMPRESS;
    uint8_t frame[128], back[256];
    uint32_t end = (uint32_t)n;
    dm_lowpan_item it, bi;
    EXPECT(dm_iphc_compress(d, &end, 1, NULL, 0, ctx, 0, frame, sizeof frame, &it) == 0 && it.status == DM_OK);
    EXPECT(it.length < n && (it.info & DM_IPHC_INFO_DAC) && (it.info & DM_IPHC_INFO_UDP));
    uint32_t fend = it.length;
    EXPECT(dm_iphc_decompress(frame, &fend, 1, NULL, 0, ctx, 0, back, sizeof back, &bi) == 0 && bi.length == n &&
           memcmp(back, d, n) == 0);
    /* 6LoWPAN example 1 (tests/transport_vectors.py): link-local from EUI-64s, ports F0B1/F0B2 */
    size_t fn;
    uint8_t *ex1 = hex("7E 33 F3 12 F711 0001001000010005C001C10008", &fn);
    dm_ll_pair ll = {{0x00, 0x12, 0x4B, 0x00, 0x00, 0x01, 0x02, 0x03}, {0x00, 0x12, 0x4B, 0x00, 0x00, 0x04, 0x05, 0x06}, 8, 8};
    fend = (uint32_t)fn;
    EXPECT(dm_iphc_decompress(ex1, &fend, 1, &ll, 1, NULL, 0, back, sizeof back, &bi) == 0 && bi.status == DM_OK);
    EXPECT(bi.length == 48 + 13 && bi.header_length == 6 && back[7] == 64 && back[8] == 0xfe && back[9] == 0x80);
    EXPECT(back[40] == 0xF0 && back[41] == 0xB1 && back[42] == 0xF0 && back[43] == 0xB2 && back[46] == 0xF7 &&
           back[47] == 0x11);
    EXPECT(memcmp(back + 16, "\x02\x12\x4B\x00\x00\x01\x02\x03", 8) == 0);
    end = bi.length;
    EXPECT(dm_iphc_compress(back, &end, 1, &ll, 1, NULL, 0, frame, sizeof frame, &it) == 0 && it.length == fn &&
           memcmp(frame, ex1, fn) == 0);
    EXPECT(fuzz_iphc_one(ex1, fn) == 0);
    ex1[0] = 0x40;
    fend = (uint32_t)fn;
    EXPECT(dm_iphc_decompress(ex1, &fend, 1, &ll, 1, NULL, 0, back, sizeof back, &bi) == 1 &&
           bi.status == DM_ERR_LOWPAN_DISPATCH && bi.err_offset == 0);
    free(ex1);

    /* fragmentation: T1 with 1200 more payload bytes at MTU 64, through the frag harness */
    size_t big = 4 + n + 1200;
    uint8_t *in = malloc(big);
    in[0] = 64 - 40, in[1] = 0x01, in[2] = 0x12, in[3] = 0x34;
    memcpy(in + 4, d, n);
    for (size_t i = 0; i < 1200; i++)
        in[4 + n + i] = (uint8_t)i;
    EXPECT(fuzz_frag_one(in, big) == 0);
    uint8_t out[4096];
    uint32_t frame_end[64];
    dm_lowpan_item res;
    in[4 + 4] = (uint8_t)((n - 40 + 1200) >> 8), in[4 + 5] = (uint8_t)(n - 40 + 1200);
    in[4 + 44] = in[4 + 4], in[4 + 45] = in[4 + 5];
    int count = dm_frag_split(in + 4, n + 1200, NULL, ctx, 0, 64, 0x1234, NULL, 0, out, sizeof out, frame_end, 64, &res);
    EXPECT(count == 23); /* as the pure twin's lowpan.fragment cuts it */
    EXPECT(out[0] >> 3 == 0x18 && out[frame_end[0]] >> 3 == 0x1C);
    EXPECT(dm_frag_split(in + 4, n + 1200, NULL, ctx, 0, 16, 0x1234, NULL, 0, out, sizeof out, frame_end, 64, &res) ==
           DM_ERR_FRAG_MTU);
    free(in);
    free(d);
}

/* ------------------------------------------------------------------------ */

static size_t replay_dir(const char *dir, int (*one)(const uint8_t *, size_t))
{
    DIR *dp = opendir(dir);
    size_t count = 0;
    if (!dp)
        return 0;
    struct dirent *e;
    char path[4096 + 512];
    while ((e = readdir(dp)) != NULL) {
        if (e->d_name[0] == '.' || strlen(dir) + strlen(e->d_name) + 2 > sizeof path)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        uint8_t *buf = malloc((size_t)st.st_size ? (size_t)st.st_size : 1);
        size_t got = fread(buf, 1, (size_t)st.st_size, f);
        fclose(f);
        one(buf, got); /* an invariant that fails aborts with its place */
        free(buf);
        count++;
    }
    closedir(dp);
    return count;
}

int main(int argc, char **argv)
{
    const char *only = NULL;
    if (argc == 4 && strcmp(argv[1], "--only") == 0) {
        only = argv[2];
        argv += 2;
        argc -= 2;
    } else {
        test_axdr();
        test_columns();
        test_push();
        test_ber();
        test_apdu();
        test_secure();
        test_transport();
        test_offsets();
        test_bytes();
        test_finding_pipe_encode_null_values();
    }
    if (argc > 1) {
        char dir[4096];
        if (strlen(argv[1]) > 4000) {
            fprintf(stderr, "corpus path too long\n");
            return 2;
        }
        for (size_t h = 0; h < NHARNESSES; h++) {
            if (only && strcmp(only, HARNESSES[h].name) != 0)
                continue;
            snprintf(dir, sizeof dir, "%s/%s", argv[1], HARNESSES[h].name);
            size_t k = replay_dir(dir, HARNESSES[h].one);
            printf("replayed %zu %s inputs\n", k, HARNESSES[h].name);
            EXPECT(k > 0);
        }
    }
    fuzz_secure_teardown();
    fuzz_pipeline_teardown();
    fuzz_pipe_encode_teardown();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
