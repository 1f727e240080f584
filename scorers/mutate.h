/*
 * mutate: reproducible attack variants of an adversarial case (SPEC 14).
 *
 * An adversarial suite declares "mutations": [NAME, ...] and "seed": N;
 * each case then also runs as one variant per mutation, id "CASEID~NAME".
 * A mutation encodes the attack's text (base64, ROT13, ...) and wraps it in
 * an instruction; the mutations that choose (which letters become
 * homoglyphs, where zero-width characters go, which language or persona a
 * wrapper names) draw from a PRNG seeded by (seed, case id, mutation), so
 * the same suite gives byte-identical variants on every machine and run,
 * and runs of one commit pair case by case (McNemar applies).
 *
 * Ownership: the table is static; mutation_apply appends to the caller's
 * buffers.
 */
#ifndef EG_MUTATE_H
#define EG_MUTATE_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"
#include "strbuf.h"

struct mutation {
	const char *name;        /* as a suite names it, e.g. "rot13" */
	const char *what;        /* one line for people */
	/* the payload as the mutation writes it, appended to out */
	void (*encode)(struct strbuf *out, const char *payload, struct eg_rng *rng);
	const char *const *wrappers; /* instruction templates, one drawn per case; "{}" is the
					encoded payload; NULL-terminated */
	int to_context;          /* the encoded payload becomes a context passage and the
				    wrapper (without "{}") the input */
};

/* the mutation named name, or NULL */
const struct mutation *mutation_find(const char *name);
/* the table, in a fixed order */
size_t mutation_count(void);
const struct mutation *mutation_at(size_t i);
/* "base64, rot13, ...": every name, for messages */
void mutation_names(struct strbuf *out);

/*
 * The variant of payload for case_id under seed: the new input into input
 * (appended) and, for a mutation that moves the payload into the context,
 * the passage into passage (appended; left alone otherwise).
 */
void mutation_apply(const struct mutation *m, const char *payload, unsigned long long seed,
		    const char *case_id, struct strbuf *input, struct strbuf *passage);

#endif
