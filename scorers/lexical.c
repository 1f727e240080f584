/*
 * lexical: faithfulness by word overlap (see lexical.h for the contract).
 *
 * Sentences. The answer is cut after '.', '!' or '?' (a run of them, then
 * any closing quotes or brackets) when followed by whitespace or the end,
 * and at every line break (list items are sentences of their own). A '.'
 * does not end a sentence when:
 *   - it follows a known abbreviation (e.g., i.e., etc., vs., mr., dr., ...,
 *     abbrevs[] below) or a single letter (initials: "J. Smith", "U.S.");
 *   - the next word starts with a lower-case letter ("approx. the same").
 * Decimals ("3.5") and dotted words never split: their '.' is not followed
 * by whitespace.
 *
 * Words. A word is a run of letters and digits: ASCII, the Latin-1 letters
 * U+00C0..U+00FF folded to ASCII (é -> e, ß -> ss, Æ -> ae), and any other
 * non-ASCII letter kept as is. ASCII is lower-cased. An apostrophe (' or
 * U+2019) inside a word is dropped ("don't" -> "dont"); '.' between digits
 * stays ("3.5"), ',' between digits is dropped ("1,000" -> "1000"). Words are
 * cut at 48 bytes.
 *
 * Content words are the words not in stop_words[] (about 170 English
 * function words and contractions, apostrophes dropped) and not a single
 * letter (a dotted abbreviation such as "e.g." gives two), then lightly
 * stemmed (ASCII-letter words only), one rule of each group in order:
 *   plural:  -ies -> -y; -sses -> -ss; -ches, -shes, -xes, -zes drop "es";
 *            -s drops "s" unless -ss, -us, -is;
 *   suffix:  -ing, -ed, -ly are dropped (keeping a stem of at least 3
 *            letters), then a doubled final consonant other than l, s, z is
 *            undoubled ("shipped" -> "ship");
 *   finally a trailing 'e' is dropped from words longer than 2 letters,
 *            so "use", "used" and "using" all become "us".
 * Negation words are stop words: the method cannot see "not".
 *
 * Matching. Each passage is tokenised once per call into a set of 64-bit
 * word hashes (FNV-1a; hashmap.h, sized once, no allocation per word). A
 * sentence counts its distinct content words; it is supported when for one
 * passage (count found) >= min_overlap * (count). Sentences without
 * content words are skipped.
 */
#include "lexical.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "hashmap.h"
#include "strbuf.h"
#include "types.h"
#include "utf8.h"
#include "xalloc.h"
#include "banned.h"

#define WORD_MAX 48
#define REASON_SENTENCES 3 /* unsupported sentences quoted in the reason */

static const char *const stop_words[] = {
	"a", "about", "above", "after", "again", "against", "all", "also", "am", "an",
	"and", "any", "are", "as", "at", "be", "because", "been", "before", "being",
	"below", "between", "both", "but", "by", "can", "cannot", "could", "did", "do",
	"does", "doing", "down", "during", "each", "either", "else", "eg", "etc", "even",
	"ever", "every", "few", "for", "from", "further", "had", "has", "have", "having",
	"he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "however",
	"i", "ie", "if", "in", "into", "is", "it", "its", "itself", "just",
	"let", "like", "may", "me", "might", "more", "most", "much", "must", "my",
	"myself", "neither", "no", "nor", "not", "now", "of", "off", "ok", "on",
	"once", "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own",
	"per", "please", "same", "shall", "she", "should", "so", "some", "such", "than",
	"that", "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they",
	"this", "those", "though", "through", "thus", "to", "too", "under", "until", "up",
	"upon", "us", "very", "via", "was", "we", "were", "what", "when", "where",
	"whether", "which", "while", "who", "whom", "whose", "why", "will", "with", "within",
	"without", "would", "yes", "yet", "you", "your", "yours", "yourself", "yourselves",
	/* contractions, apostrophe dropped */
	"cant", "couldnt", "didnt", "doesnt", "dont", "hadnt", "hasnt", "havent", "hes", "id",
	"ill", "im", "isnt", "ive", "lets", "shes", "shouldnt", "thats", "theres", "theyd",
	"theyll", "theyre", "theyve", "wasnt", "wed", "werent", "weve", "whats", "wont", "wouldnt",
	"youd", "youll", "youre", "youve",
};

/* words whose final '.' does not end a sentence (lower case, inner dots kept) */
static const char *const abbrevs[] = {
	"e.g", "i.e", "etc", "vs", "cf", "mr", "mrs", "ms", "dr", "prof", "st", "no",
	"inc", "ltd", "co", "corp", "jr", "sr", "approx", "fig", "dept", "est", "a.m",
	"p.m", "u.s", "u.k", "e.u", "ph.d", "al", "vol", "ch", "sec", "nos", "incl",
};

/* Latin-1 letters U+00C0..U+00FF folded to ASCII; NULL for the two signs */
static const char *const latin1_fold[64] = {
	"a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
	"d", "n", "o", "o", "o", "o", "o", NULL, "o", "u", "u", "u", "u", "y", "th", "ss",
	"a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
	"d", "n", "o", "o", "o", "o", "o", NULL, "o", "u", "u", "u", "u", "y", "th", "y",
};

static struct hashmap stop_set; /* hashes of the stop words */
static pthread_once_t stop_once = PTHREAD_ONCE_INIT;

/* a word's hash: never 0, which next_content() returns for "no more words" */
static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = fnv1a(s, n);

	return h ? h : 1;
}

static void stop_build(void)
{
	size_t i, n = sizeof(stop_words) / sizeof(stop_words[0]);

	hashmap_init(&stop_set, n);
	for (i = 0; i < n; i++)
		hashmap_add(&stop_set, hash_bytes(stop_words[i], strlen(stop_words[i])));
}

enum ckind {
	CK_SEP,    /* separator */
	CK_ALNUM,  /* ASCII letter or digit */
	CK_LATIN1, /* U+00C0..U+00FF letter, folded */
	CK_LETTER, /* another non-ASCII letter, kept */
	CK_APOS,   /* ' or U+2019 */
};

static int is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* the kind of the character at s[i] and its length in bytes (*n) */
static enum ckind char_kind(const unsigned char *s, size_t len, size_t i, size_t *n)
{
	unsigned char c = s[i];

	*n = 1;
	if (c < 0x80) {
		if (is_alnum(c))
			return CK_ALNUM;
		return c == '\'' ? CK_APOS : CK_SEP;
	}
	*n = utf8_valid_prefix((const char *)s + i, len - i);
	if (!*n) {
		*n = 1;
		return CK_SEP;
	}
	switch (c) {
	case 0xc2: /* U+0080..U+00BF: controls, no-break space, signs, quotes */
		return CK_SEP;
	case 0xc3:
		return latin1_fold[s[i + 1] - 0x80] ? CK_LATIN1 : CK_SEP;
	case 0xe2: /* U+2000..U+2FFF: punctuation, currency, symbols, arrows */
		if (s[i + 1] == 0x80 && s[i + 2] == 0x99)
			return CK_APOS;
		return CK_SEP;
	case 0xe3: /* U+3000..U+303F: CJK punctuation */
		return s[i + 1] == 0x80 ? CK_SEP : CK_LETTER;
	case 0xef: /* byte order mark, fullwidth punctuation and the like */
		return s[i + 1] == 0xbb && s[i + 2] == 0xbf ? CK_SEP : CK_LETTER;
	default:
		return CK_LETTER;
	}
}

static int starts_word(enum ckind k)
{
	return k == CK_ALNUM || k == CK_LATIN1 || k == CK_LETTER;
}

struct word {
	char buf[WORD_MAX];
	size_t len;
	int alpha;    /* only ASCII letters: stemming applies */
	size_t start; /* offset of its first byte in the text */
};

static void word_put(struct word *w, const char *p, size_t n)
{
	if (w->len + n <= WORD_MAX) {
		memcpy(w->buf + w->len, p, n);
		w->len += n;
	}
}

/* ASCII classes: 0 separator, 1 lower-case letter, 2 capital, 3 digit, 4 apostrophe */
static const unsigned char ascii_class[128] = {
	['\''] = 4,
	['0'] = 3, ['1'] = 3, ['2'] = 3, ['3'] = 3, ['4'] = 3,
	['5'] = 3, ['6'] = 3, ['7'] = 3, ['8'] = 3, ['9'] = 3,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1,
	['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
	['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
	['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
	['A'] = 2, ['B'] = 2, ['C'] = 2, ['D'] = 2, ['E'] = 2, ['F'] = 2, ['G'] = 2,
	['H'] = 2, ['I'] = 2, ['J'] = 2, ['K'] = 2, ['L'] = 2, ['M'] = 2, ['N'] = 2,
	['O'] = 2, ['P'] = 2, ['Q'] = 2, ['R'] = 2, ['S'] = 2, ['T'] = 2, ['U'] = 2,
	['V'] = 2, ['W'] = 2, ['X'] = 2, ['Y'] = 2, ['Z'] = 2,
};

/* the class of byte c: ascii_class[], or 5 for a non-ASCII byte */
static unsigned char class_of(unsigned char c)
{
	return c < 0x80 ? ascii_class[c] : 5;
}

/* read the next word of s from *pos; 0 when there is none left */
static int next_word(const unsigned char *s, size_t len, size_t *pos, struct word *w)
{
	size_t i = *pos, n;
	unsigned char last = 0;

	while (i < len) {
		unsigned char cl = class_of(s[i]);
		if (cl >= 1 && cl <= 3)
			break;
		if (cl == 5 && starts_word(char_kind(s, len, i, &n)))
			break;
		i += cl == 5 ? n : 1;
	}
	if (i >= len) {
		*pos = len;
		return 0;
	}
	w->len = 0;
	w->alpha = 1;
	w->start = i;
	while (i < len) {
		unsigned char c = s[i], cl = class_of(c);
		enum ckind k;
		size_t m;

		if (cl == 1 || cl == 2) {
			if (w->len < WORD_MAX)
				w->buf[w->len++] = (char)(c | 0x20);
			last = c;
			i++;
			continue;
		}
		if (cl == 3) {
			if (w->len < WORD_MAX)
				w->buf[w->len++] = (char)c;
			w->alpha = 0;
			last = c;
			i++;
			continue;
		}
		if (!cl) {
			if ((c == '.' || c == ',') && is_digit(last) && i + 1 < len &&
			    is_digit(s[i + 1])) {
				if (c == '.')
					word_put(w, ".", 1);
				i++;
				continue;
			}
			break;
		}
		k = char_kind(s, len, i, &n);
		if (k == CK_LATIN1) {
			const char *f = latin1_fold[s[i + 1] - 0x80];
			word_put(w, f, f[1] ? 2 : 1);
			last = 'a';
		} else if (k == CK_LETTER) {
			word_put(w, (const char *)s + i, n);
			w->alpha = 0;
			last = 0x80;
		} else if (k == CK_APOS && i + n < len &&
			   starts_word(char_kind(s, len, i + n, &m))) {
			/* inside a word: dropped */
		} else {
			break;
		}
		i += n;
	}
	*pos = i;
	return 1;
}

#define ENDS_WITH(w, lit) \
	((w)->len >= sizeof(lit) - 1 && \
	 !memcmp((w)->buf + (w)->len - (sizeof(lit) - 1), lit, sizeof(lit) - 1))

static void stem(struct word *w)
{
	int cut = 0;

	if (!w->alpha || w->len < 3)
		return;
	/* plural */
	if (w->buf[w->len - 1] == 's') {
		if (w->len > 4 && ENDS_WITH(w, "ies")) {
			w->len -= 2;
			w->buf[w->len - 1] = 'y';
		} else if (w->len > 4 && (ENDS_WITH(w, "sses") || ENDS_WITH(w, "ches") ||
					  ENDS_WITH(w, "shes") || ENDS_WITH(w, "xes") ||
					  ENDS_WITH(w, "zes"))) {
			w->len -= 2;
		} else if (w->len > 3 && !ENDS_WITH(w, "ss") && !ENDS_WITH(w, "us") &&
			   !ENDS_WITH(w, "is")) {
			w->len -= 1;
		}
	}
	/* suffix */
	if (w->len > 5 && ENDS_WITH(w, "ing")) {
		w->len -= 3;
		cut = 1;
	} else if (w->len > 4 && ENDS_WITH(w, "ed")) {
		w->len -= 2;
		cut = 1;
	} else if (w->len > 4 && ENDS_WITH(w, "ly")) {
		w->len -= 2;
	}
	if (cut && w->len > 2) {
		char a = w->buf[w->len - 1];
		if (a == w->buf[w->len - 2] && a != 'l' && a != 's' && a != 'z' && a != 'a' &&
		    a != 'e' && a != 'i' && a != 'o' && a != 'u')
			w->len--;
	}
	if (w->len > 2 && w->buf[w->len - 1] == 'e')
		w->len--;
}

/* where a content word sits and whether it names something */
struct word_at {
	size_t b, e; /* its bytes in the text */
	int entity;  /* a number or a capitalised word */
};

/* does the word at s[b..) start with a capital letter (ASCII or Latin-1)? */
static int capitalised(const unsigned char *s, size_t len, size_t b)
{
	if (s[b] >= 'A' && s[b] <= 'Z')
		return 1;
	return s[b] == 0xc3 && b + 1 < len && s[b + 1] >= 0x80 && s[b + 1] <= 0x9e &&
		s[b + 1] != 0x97;
}

/* every negation word stands for one token, whose hash this is */
#define NEGATION_HASH 2

static const char *const negation_words[] = {
	"not", "no", "never", "nor", "neither", "none", "nobody", "nothing", "cannot",
	"cant", "couldnt", "didnt", "doesnt", "dont", "hadnt", "hasnt", "havent", "isnt",
	"shouldnt", "wasnt", "werent", "wont", "wouldnt",
};

static int is_negation(const struct word *w)
{
	size_t i;

	for (i = 0; i < sizeof(negation_words) / sizeof(negation_words[0]); i++)
		if (strlen(negation_words[i]) == w->len && !memcmp(negation_words[i], w->buf, w->len))
			return 1;
	return 0;
}

/*
 * The hash of the next content word of s from *pos; 0 when there is none
 * left. A number loses its leading zeros ("05" and "5" are one). With
 * negations, every negation word is a content word of its own, the same
 * for all (NEGATION_HASH). When at is not NULL it says where the word is
 * and whether it is an entity.
 */
static uint64_t next_content(const unsigned char *s, size_t len, size_t *pos,
			     struct word_at *at, int negations)
{
	struct word w;

	while (next_word(s, len, pos, &w)) {
		size_t z = 0;

		if (w.len == 1 && w.alpha)
			continue; /* a lone letter: "e.g." gives e and g */
		if (negations && is_negation(&w)) {
			if (at) {
				at->b = w.start;
				at->e = *pos;
				at->entity = 1;
			}
			return NEGATION_HASH;
		}
		if (hashmap_has(&stop_set, hash_bytes(w.buf, w.len)))
			continue;
		while (z + 1 < w.len && w.buf[z] == '0' && is_digit((unsigned char)w.buf[z + 1]))
			z++;
		if (z) {
			memmove(w.buf, w.buf + z, w.len - z);
			w.len -= z;
		}
		if (at) {
			size_t k;

			at->b = w.start;
			at->e = *pos;
			at->entity = capitalised(s, len, w.start);
			for (k = 0; k < w.len && !at->entity; k++)
				at->entity = is_digit((unsigned char)w.buf[k]);
		}
		stem(&w);
		return hash_bytes(w.buf, w.len);
	}
	return 0;
}

static int is_space(unsigned char c)
{
	return scorer_isspace(c);
}

/* after the sentence's final punctuation: closing quotes and brackets */
static size_t skip_closers(const char *s, size_t len, size_t j)
{
	for (;;) {
		if (j < len && strchr("\"')]", s[j]) && s[j]) {
			j++;
		} else if (j + 2 < len && (unsigned char)s[j] == 0xe2 &&
			   (unsigned char)s[j + 1] == 0x80 &&
			   ((unsigned char)s[j + 2] == 0x9d || (unsigned char)s[j + 2] == 0x99)) {
			j += 3; /* ” or ’ */
		} else {
			return j;
		}
	}
}

/* does the single '.' at s[i], followed by whitespace at s[j], end a sentence? */
static int dot_ends_sentence(const char *s, size_t len, size_t from, size_t i, size_t j)
{
	char word[8];
	size_t k = i, n, a;

	while (j < len && is_space((unsigned char)s[j]) && s[j] != '\n')
		j++;
	if (j >= len || s[j] == '\n')
		return 1;
	if (s[j] >= 'a' && s[j] <= 'z')
		return 0;
	while (k > from && (is_alnum((unsigned char)s[k - 1]) || s[k - 1] == '.'))
		k--;
	n = i - k;
	if (n == 1 && !is_digit((unsigned char)s[k]))
		return 0;
	if (!n || n >= sizeof(word))
		return 1;
	for (a = 0; a < n; a++) {
		char c = s[k + a];
		word[a] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	word[n] = '\0';
	for (a = 0; a < sizeof(abbrevs) / sizeof(abbrevs[0]); a++)
		if (!strcmp(word, abbrevs[a]))
			return 0;
	return 1;
}

/*
 * The sentence starting at or after pos: [*b, *e) without surrounding
 * whitespace. Returns where to look for the next one.
 */
static size_t next_sentence(const char *s, size_t len, size_t pos, size_t *b, size_t *e)
{
	size_t i, j, next = len;

	while (pos < len && is_space((unsigned char)s[pos]))
		pos++;
	*b = pos;
	*e = len;
	for (i = pos; i < len; i++) {
		char c = s[i];

		if (c == '\n') {
			*e = i;
			next = i + 1;
			break;
		}
		if (c != '.' && c != '!' && c != '?')
			continue;
		j = i + 1;
		while (j < len && (s[j] == '.' || s[j] == '!' || s[j] == '?'))
			j++;
		j = skip_closers(s, len, j);
		if (j < len && !is_space((unsigned char)s[j]))
			continue;
		if (c == '.' && j == i + 1 && !dot_ends_sentence(s, len, pos, i, j))
			continue;
		*e = j;
		next = j;
		break;
	}
	while (*e > *b && is_space((unsigned char)s[*e - 1]))
		(*e)--;
	return next;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* sort v[0..n) and drop repeats; the new count */
static size_t sort_unique(uint64_t *v, size_t n)
{
	size_t i, d;

	if (n > 32) {
		qsort(v, n, sizeof(*v), cmp_u64);
	} else {
		/* a sentence's few words: insertion sort beats qsort's calls */
		for (i = 1; i < n; i++) {
			uint64_t x = v[i];
			size_t j = i;
			while (j && v[j - 1] > x) {
				v[j] = v[j - 1];
				j--;
			}
			v[j] = x;
		}
	}
	for (i = d = n ? 1 : 0; i < n; i++)
		if (v[i] != v[d - 1])
			v[d++] = v[i];
	return d;
}

/* one set of content-word hashes per passage (an empty one for a NULL passage) */
static struct hashmap *passages_build(char *const *context, size_t n_context, int negations)
{
	struct hashmap *sets = xcalloc(n_context ? n_context : 1, sizeof(*sets));
	size_t i, bound = 0;
	uint64_t *words;

	for (i = 0; i < n_context; i++)
		if (context[i])
			bound += strlen(context[i]) / 2 + 1;
	words = xmalloc((bound ? bound : 1) * sizeof(*words));
	for (i = 0; i < n_context; i++) {
		const char *p = context[i];
		size_t len, pos = 0, n = 0, k;
		uint64_t h;

		if (!p) {
			hashmap_init(&sets[i], 0);
			continue;
		}
		len = strlen(p);
		while ((h = next_content((const unsigned char *)p, len, &pos, NULL, negations)))
			words[n++] = h;
		hashmap_init(&sets[i], n);
		for (k = 0; k < n; k++)
			hashmap_add(&sets[i], words[k]);
	}
	free(words);
	return sets;
}

int lexical_faithfulness(const char *answer, size_t len, char *const *context, size_t n_context,
			 double min_overlap, struct lexical_result *out)
{
	return lexical_faithfulness_flags(answer, len, context, n_context, min_overlap, 0, out);
}

/* an entity of a sentence: its hash and where the answer says it */
struct entity {
	uint64_t h;
	size_t b, e;
};

int lexical_faithfulness_flags(const char *answer, size_t len, char *const *context,
			       size_t n_context, double min_overlap, unsigned flags,
			       struct lexical_result *out)
{
	struct strbuf reason = STRBUF_INIT;
	struct hashmap *sets;
	uint64_t *words;
	struct entity *ents;
	size_t pos = 0, listed = 0, unlisted = 0, p;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	pthread_once(&stop_once, stop_build);
	if (!answer)
		len = 0;
	if (isnan(min_overlap) || min_overlap > 1)
		min_overlap = 1;
	if (min_overlap < 0)
		min_overlap = 0;

	sets = passages_build(context, n_context, !!(flags & LEXICAL_ENTITIES));
	words = xmalloc((len / 2 + 2) * sizeof(*words));
	ents = xmalloc((len / 2 + 2) * sizeof(*ents));
	while (pos < len) {
		size_t b, e, wpos, n = 0, n_ent = 0, i, best = 0, best_p = 0;
		const struct entity *missing = NULL;
		struct word_at at;
		uint64_t h;
		int ok = 0;

		pos = next_sentence(answer, len, pos, &b, &e);
		wpos = b;
		while ((h = next_content((const unsigned char *)answer, e, &wpos, &at,
						 !!(flags & LEXICAL_ENTITIES)))) {
			/* "No, ..." answers a question; it negates nothing */
			if (h == NEGATION_HASH && at.b == b)
				continue;
			words[n++] = h;
			if (at.entity && (flags & LEXICAL_ENTITIES)) {
				ents[n_ent].h = h;
				ents[n_ent].b = at.b;
				ents[n_ent++].e = at.e;
			}
		}
		if (!n)
			continue;
		n = sort_unique(words, n);
		for (i = 0; i < n_context && !ok; i++) {
			size_t k, found = 0;
			const struct entity *miss = NULL;

			if (!context[i])
				continue;
			for (k = 0; k < n; k++)
				found += hashmap_has(&sets[i], words[k]);
			for (k = 0; k < n_ent && !miss; k++)
				if (!hashmap_has(&sets[i], ents[k].h))
					miss = &ents[k];
			/* a small tolerance: 2/3 meets 0.6667 */
			ok = (double)found >= min_overlap * (double)n - 1e-9 && !miss;
			if (found > best || !best_p) {
				best = found;
				best_p = i + 1;
				missing = miss;
			}
		}
		out->total++;
		if (ok) {
			out->supported++;
			continue;
		}
		if (listed == REASON_SENTENCES) {
			unlisted++;
			continue;
		}
		strbuf_addstr(&reason, listed ? "; \"" : "unsupported: \"");
		esc_visible(&reason, answer + b, e - b, SCORER_QUOTE_MAX);
		strbuf_addf(&reason, "\" (%zu/%zu words", best, n);
		if (missing) {
			strbuf_addstr(&reason, "; \"");
			esc_visible(&reason, answer + missing->b, missing->e - missing->b,
				    SCORER_QUOTE_MAX);
			strbuf_addstr(&reason, "\" not in the context");
		}
		strbuf_addch(&reason, ')');
		listed++;
	}
	free(words);
	free(ents);
	for (p = 0; p < n_context; p++)
		hashmap_release(&sets[p]);
	free(sets);

	if (!out->total) {
		strbuf_release(&reason);
		goto out;
	}
	if (unlisted)
		strbuf_addf(&reason, "; and %zu more", unlisted);
	if (!listed)
		strbuf_addf(&reason, "all %zu sentences supported", out->total);
	out->score = (double)out->supported / (double)out->total;
	out->reason = strbuf_detach(&reason, NULL);
	ret = 0;
out:
	return ret;
}

void lexical_result_release(struct lexical_result *r)
{
	free(r->reason);
	r->reason = NULL;
}
