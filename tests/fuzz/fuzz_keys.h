/* The keys, titles and key rings of the security and pipeline harnesses:
 * those of S1-S11 (tests/vectors/security_examples.json), so that the seed frames
 * verify and the fuzzer works past authentication from them. */
#ifndef DLMSMESH_FUZZ_KEYS_H
#define DLMSMESH_FUZZ_KEYS_H

#include "fuzz_common.h"

static const uint8_t EK[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                               0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F};
static const uint8_t AK[32] = {0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA,
                               0xDB, 0xDC, 0xDD, 0xDE, 0xDF, 0xE0, 0xE1, 0xE2, 0xE3, 0xE4, 0xE5,
                               0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xEB, 0xEC, 0xED, 0xEE, 0xEF};
static const uint8_t EK256[32] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A,
                                  0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
                                  0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F};
static const uint8_t EK11[16] = {0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
                                 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F};
static const uint8_t SERVER[8] = {0x4D, 0x4D, 0x4D, 0x00, 0x00, 0xBC, 0x61, 0x4E};
static const uint8_t CLIENT[8] = {0x4D, 0x4D, 0x4D, 0x00, 0x00, 0x00, 0x00, 0x01};
static const uint8_t TIROL[8] = {0x4B, 0x46, 0x4D, 0x10, 0x10, 0x00, 0x00, 0x23};

#define NRINGS 3
typedef struct {
    dm_secure_peer peers[3];
    size_t npeers, default_peer;
} ring_t;

static ring_t RINGS[NRINGS];
static dm_secure_key *KEYS[8];

static dm_secure_key *key(const uint8_t *ek, size_t ek_len, const uint8_t *ak, size_t ak_len, int slot)
{
    CHECK(dm_secure_key_new(ek, ek_len, ak, ak_len, &KEYS[slot]) == DM_OK);
    return KEYS[slot];
}

static void fz_keys_setup(void)
{
    if (KEYS[0] != NULL)
        return;
    uint8_t bk[16], dk[16];
    memset(bk, 0xAA, 16);
    memset(dk, 0x55, 16);
    dm_secure_key *ek = key(EK, 16, AK, 16, 0), *b = key(bk, 16, AK, 16, 1), *d = key(dk, 16, AK, 16, 2);
    dm_secure_key *tirol = key(EK11, 16, NULL, 0, 3);
    dm_secure_key *big = key(EK256, 32, AK, 32, 4);
    CHECK(dm_secure_key_new(EK, 15, NULL, 0, &KEYS[5]) == DM_ERR_BAD_ARGUMENT && KEYS[5] == NULL);

    /* ring 0: three peers sorted by title, the server the default */
    ring_t *r = &RINGS[0];
    r->npeers = 3;
    r->default_peer = 2;
    memcpy(r->peers[0].title, TIROL, 8);
    r->peers[0].suite = 1;
    r->peers[0].unicast = tirol;
    memcpy(r->peers[1].title, CLIENT, 8);
    r->peers[1].unicast = ek;
    r->peers[1].dedicated = d;
    r->peers[1].flags = DM_SEC_UNTITLED;
    memcpy(r->peers[2].title, SERVER, 8);
    r->peers[2].flags = DM_SEC_HEADER_AAD;
    r->peers[2].unicast = ek;
    r->peers[2].broadcast = b;
    r->peers[2].dedicated = d;
    /* ring 1: one peer taking any title, suite 2 with 256-bit keys, policy: authenticated encryption */
    r = &RINGS[1];
    r->npeers = 1;
    r->default_peer = 0;
    memcpy(r->peers[0].title, SERVER, 8);
    r->peers[0].suite = 2;
    r->peers[0].required = 0x30;
    r->peers[0].flags = DM_SEC_ANY_TITLE;
    r->peers[0].unicast = big;
    r->peers[0].broadcast = big;
    /* ring 2: no keys at all */
    RINGS[2].npeers = 0;
    RINGS[2].default_peer = 0;
}

/* Frees the keys (the C test driver calls the harnesses' teardowns at exit, for valgrind). */
static void fz_keys_teardown(void)
{
    for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++) {
        dm_secure_key_free(KEYS[i]);
        KEYS[i] = NULL;
    }
    memset(RINGS, 0, sizeof RINGS);
}

#endif
