/* sha256: FIPS 180-4 SHA-256, streaming; digests as 32 bytes or 64 lowercase hex chars. */
#ifndef EG_SHA256_H
#define EG_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t h[8];     /* chaining state */
	uint64_t bytes;    /* total bytes hashed */
	unsigned char blk[64]; /* pending partial block */
	size_t used;       /* bytes pending in blk */
};

void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *data, size_t len);
void sha256_final(struct sha256 *c, unsigned char out[32]);
/* one-shot: hex digest of data, out must hold 65 bytes */
void sha256_hex(const void *data, size_t len, char out[65]);
void sha256_to_hex(const unsigned char dig[32], char out[65]);
/*
 * Blocks are hashed with the CPU's SHA instructions where it has them;
 * sha256_portable(1) makes every later hash use the portable code (tests
 * compare the two), sha256_portable(0) goes back to the CPU's choice.
 */
void sha256_portable(int on);

#endif
