/* libFuzzer harness: security unprotect (csrc/secure.c: dm_secure_parse,
 * dm_secure_open_batch, dm_secure_open) with fixed keys, and the protect ->
 * unprotect round trip (dm_secure_seal_batch, dm_secure_seal).
 *
 * Keys and titles are those of S1-S11 (tests/vectors/security_examples.json), so the
 * seed frames verify and the fuzzer works past authentication from them.
 * Input: one ciphered APDU (glo-/ded-, general-glo/-ded, general-ciphering,
 * general-signing), as received.
 * Checks: parsed parts lie inside the frame; dm_secure_open_glo gives the batch's
 * outcome for a glo- frame under a one-peer ring's unicast key and an error (no
 * plaintext) for every other frame; a batch of the same frame twice
 * gives the same outcome twice (the key contexts are reused); a failing
 * frame leaves no byte of plaintext; a frame that opens re-seals, with the
 * same key, title, SC and IC, to its own ciphered content; dm_secure_open
 * agrees with the batch; any APDU sealed with a known key opens to itself.
 */
#include "fuzz_keys.h"

/* Frees the keys (the C test driver calls it at exit, for valgrind). */
void fuzz_secure_teardown(void);
void fuzz_secure_teardown(void) { fz_keys_teardown(); }

static int known_status(int rc)
{
    switch (rc) {
    case DM_OK: case DM_SEC_DEFERRED: case DM_ERR_TRUNCATED: case DM_ERR_BAD_LENGTH: case DM_ERR_TRAILING:
    case DM_ERR_APDU_FLAG: case DM_ERR_APDU_CHOICE: case DM_ERR_SEC_AUTH: case DM_ERR_SEC_SUITE:
    case DM_ERR_SEC_NO_KEY: case DM_ERR_SEC_CONTROL: case DM_ERR_SEC_POLICY: case DM_ERR_SEC_TAG:
    case DM_ERR_SEC_TITLE: case DM_ERR_SEC_NO_TITLE: case DM_ERR_SEC_MISMATCH:
        return 1;
    default:
        return 0;
    }
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static dm_secure_key *key_of(const dm_secure_peer *peer, uint32_t key_set)
{
    return key_set == DM_SEC_KEY_UNICAST ? peer->unicast
         : key_set == DM_SEC_KEY_BROADCAST ? peer->broadcast
                                           : peer->dedicated;
}

static void open_in(const ring_t *r, const uint8_t *in, size_t size, const dm_secure_frame *f, int parsed)
{
    uint32_t offsets[3] = {0, (uint32_t)size, (uint32_t)(2 * size)};
    uint8_t *twice = fz_alloc(2 * size), *out = fz_alloc(2 * size);
    if (size) {
        memcpy(twice, in, size);
        memcpy(twice + size, in, size);
    }
    memset(out, 0, 2 * size);
    dm_secure_item items[2];
    int64_t ok = dm_secure_open_batch(r->npeers ? r->peers : NULL, r->npeers, r->default_peer, twice, offsets, 2,
                                      out, 2 * size, items);
    CHECK(ok >= 0 && ok <= 2);
    CHECK(ok == 2 * (items[0].status == DM_OK));
    for (int i = 0; i < 2; i++) {
        const dm_secure_item *it = &items[i];
        CHECK(known_status(it->status));
        CHECK(it->plain == offsets[i]);
        CHECK(it->err_offset <= size);
        if (it->status != DM_OK)
            CHECK(all_zero(out + offsets[i], size));
    }
    CHECK(items[0].status == items[1].status && items[0].err_offset == items[1].err_offset &&
          items[0].peer == items[1].peer && items[0].plain_len == items[1].plain_len);
    CHECK(memcmp(out, out + size, size) == 0);
    if (r->npeers == 1 && r->default_peer == 0 && size <= 0xFFFF) {
        /* dm_secure_open_glo: the batch's outcome for a glo- frame under the unicast key, else an error */
        char *glo = fz_alloc(size + 1);
        memset(glo, 0, size + 1);
        int64_t got = dm_secure_open_glo(r->peers, in, size, glo, size + 1);
        int fast = parsed && items[0].status == DM_OK && f->kind == DM_SEC_SERVICE_GLO &&
                   items[0].key_set == DM_SEC_KEY_UNICAST;
        if (fast) {
            CHECK(got >= 0 && (uint32_t)(got & 0xFFFF) == items[0].plain_len &&
                  (uint32_t)((got >> 16) & 0xFF) == items[0].sc && (uint32_t)(got >> 24) == items[0].ic);
            CHECK(memcmp(glo, out, items[0].plain_len) == 0);
        } else {
            CHECK(got < 0 && all_zero((const uint8_t *)glo, size + 1));
        }
        free(glo);
    }
    if (!parsed) {
        CHECK(items[0].status != DM_OK);
        goto done;
    }
    if (items[0].status != DM_OK)
        goto done;

    const dm_secure_item *it = &items[0];
    CHECK(it->peer < r->npeers && it->plain_len <= f->content_len && it->sc == f->sc && it->ic == f->ic);
    const dm_secure_peer *peer = &r->peers[it->peer];
    dm_secure_key *k = key_of(peer, it->key_set);
    CHECK(k != NULL);
    const uint8_t *title = f->title_len == 8 ? in + f->title : peer->title;
    int header_aad = f->kind == DM_SEC_GENERAL_CIPHERING && (peer->flags & DM_SEC_HEADER_AAD);
    const uint8_t *header = header_aad ? in + f->header : NULL;
    size_t header_len = header_aad ? f->header_len : 0;

    /* dm_secure_open on the content: the same plaintext */
    uint8_t *plain = fz_alloc(f->content_len);
    size_t plain_len = 0;
    CHECK(dm_secure_open(k, title, in + f->content, f->content_len, header, header_len, plain, f->content_len,
                         &plain_len) == DM_OK);
    CHECK(plain_len == it->plain_len && memcmp(plain, out, plain_len) == 0);

    /* re-seal: the same ciphered content */
    uint8_t *sealed = fz_alloc(f->content_len);
    size_t sealed_len = 0;
    CHECK(dm_secure_seal(k, (uint8_t)f->sc, title, f->ic, header, header_len, out, it->plain_len, sealed,
                         f->content_len, &sealed_len) == DM_OK);
    CHECK(sealed_len == f->content_len && memcmp(sealed, in + f->content, sealed_len) == 0);
    free(sealed);
    free(plain);
done:
    free(out);
    free(twice);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_keys_setup();
    uint8_t *in = fz_dup(data, size);
    dm_secure_frame f;
    size_t err = 0;
    int prc = dm_secure_parse(in, size, &f, &err);
    CHECK(known_status(prc) && prc != DM_SEC_DEFERRED);
    if (prc == DM_OK) {
        CHECK(f.tag == in[0] && f.kind >= DM_SEC_SERVICE_GLO && f.kind <= DM_SEC_GENERAL_SIGNING);
        CHECK((size_t)f.content + f.content_len <= size);
        CHECK((size_t)f.title + f.title_len <= size && (f.title_len == 0 || f.title_len == 8));
        CHECK((size_t)f.header + f.header_len <= size);
        CHECK((size_t)f.key_data + f.key_data_len <= size && (size_t)f.key_params + f.key_params_len <= size);
        CHECK((size_t)f.signature + f.signature_len <= size);
    } else {
        CHECK(err <= size);
    }
    for (int r = 0; r < NRINGS; r++)
        open_in(&RINGS[r], in, size, &f, prc == DM_OK);

    /* the input as a plaintext APDU: sealed under the server's unicast key, it opens to itself */
    static const int FRAMINGS[2] = {DM_SEC_FRAME_GENERAL_GLO, DM_SEC_FRAME_GLO};
    static const uint8_t SCS[3] = {0x30, 0x10, 0x20};
    int which = size ? in[size - 1] % 3 : 0;
    for (int j = 0; j < 2; j++) {
        uint32_t offs[2] = {0, (uint32_t)size}, out_offs[2];
        size_t cap = size + 40, err_index = 9;
        uint8_t *frame = fz_alloc(cap);
        int64_t n = dm_secure_seal_batch(KEYS[0], SCS[which], SERVER, 7, FRAMINGS[j], in, offs, 1, frame, cap,
                                         out_offs, &err_index);
        if (n < 0) {
            CHECK(n == DM_ERR_SEC_TAG && FRAMINGS[j] == DM_SEC_FRAME_GLO && err_index == 0);
            free(frame);
            continue;
        }
        CHECK((size_t)n == out_offs[1] && (size_t)n <= cap);
        uint32_t o2[2] = {0, (uint32_t)n};
        uint8_t *plain = fz_alloc((size_t)n);
        dm_secure_item item;
        CHECK(dm_secure_open_batch(RINGS[0].peers, RINGS[0].npeers, RINGS[0].default_peer, frame, o2, 1, plain,
                                   (size_t)n, &item) == 1);
        CHECK(item.plain_len == size && memcmp(plain, in, size) == 0 && item.ic == 7 && item.sc == SCS[which]);
        free(plain);
        free(frame);
    }
    free(in);
    return 0;
}
