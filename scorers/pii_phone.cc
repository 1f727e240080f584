/*
 * pii_phone: the C++ side of scorers/pii_phone.h, built as the module
 * pii_phone.so that pii_phone_load.c opens. The one place that speaks
 * libphonenumber; nothing here throws across the C boundary.
 */
#include "pii_phone.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumbermatch.h>
#include <phonenumbers/phonenumbermatcher.h>
#include <phonenumbers/phonenumberutil.h>

/* the module exports these two alone (it is built with hidden visibility) */
#define EXPORT __attribute__((visibility("default")))

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberMatch;
using i18n::phonenumbers::PhoneNumberMatcher;
using i18n::phonenumbers::PhoneNumberUtil;

namespace {

/* attempts the matcher makes per region before giving up on a window */
const int max_tries = 1000;

/* length of the valid UTF-8 sequence at s[0..n), 0 when invalid */
size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* the text with NUL and invalid UTF-8 bytes as spaces: same length, same offsets */
std::string clean_utf8(const char *text, size_t len)
{
	std::string s(text, len);
	size_t i = 0;

	while (i < len) {
		size_t k = utf8_seq(reinterpret_cast<const unsigned char *>(s.data()) + i, len - i);
		if (!k || !s[i]) {
			s[i++] = ' ';
			continue;
		}
		i += k;
	}
	return s;
}

/* longest window handed to the matcher; longer runs are cut at separators */
const size_t max_window = 64;

/*
 * Windows read per text: bounds the time a hostile answer (megabytes of
 * digit groups) costs; the pattern finders of pii.c still read it all.
 */
const size_t max_windows = 1000;

bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool is_sep(char c)
{
	return c == ' ' || c == '.' || c == '-' || c == '(' || c == ')' || c == '/' || c == '\t';
}

/*
 * The windows of s a phone number could sit in: runs of digits and
 * separators (starting at a digit, '+' or '(') holding 7 digits or more,
 * widened by one byte each side so the matcher sees what borders them, and
 * not those skip refuses.
 * The matcher is costly per call and most prose has no such run, so it
 * only ever reads these.
 */
void candidate_windows(const std::string &s, pii_phone_skip_fn skip,
		       std::vector<std::pair<size_t, size_t>> &out)
{
	size_t i = 0, n = s.size();

	while (i < n && out.size() < max_windows) {
		size_t b, e, last_sep = 0, digits = 0;

		if (!is_digit(s[i]) && s[i] != '+' && s[i] != '(') {
			i++;
			continue;
		}
		b = i;
		for (e = b; e < n && (is_digit(s[e]) || is_sep(s[e]) || (e == b && s[e] == '+'));
		     e++) {
			digits += is_digit(s[e]);
			if (is_sep(s[e]))
				last_sep = e;
			if (e - b >= max_window && last_sep > b) {
				e = last_sep;
				break;
			}
		}
		i = e > b ? e : b + 1;
		while (e > b && is_sep(s[e - 1]) && s[e - 1] != ')')
			e--;
		if (digits < 7 || (skip && skip(s.data() + b, e - b)))
			continue;
		out.emplace_back(b ? b - 1 : b, e < n ? e + 1 : e);
	}
}

struct found {
	size_t begin, end;
	std::string nsn;
};

/* has a number been found that spans the window but its border bytes? */
bool covers(const std::vector<found> &all, const std::pair<size_t, size_t> &w)
{
	for (const found &f : all)
		if (f.begin <= w.first + 1 && f.end + 1 >= w.second)
			return true;
	return false;
}

} // namespace

extern "C" EXPORT int pii_phone_impl_region_ok(const char *region)
{
	try {
		std::string r(region ? region : "");
		return PhoneNumberUtil::GetInstance()->GetCountryCodeForRegion(r) != 0;
	} catch (...) {
		return 0;
	}
}

extern "C" EXPORT int pii_phone_impl_scan(const char *text, size_t len,
					  const char *const *regions, size_t n,
					  pii_phone_skip_fn skip, pii_phone_fn fn, void *data)
{
	try {
		const PhoneNumberUtil &util = *PhoneNumberUtil::GetInstance();
		std::string s = clean_utf8(text, len);
		std::vector<std::pair<size_t, size_t>> windows;
		std::vector<found> all;

		candidate_windows(s, skip, windows);
		for (const auto &w : windows) {
			std::string piece = s.substr(w.first, w.second - w.first);

			/* a number found in one region that fills the run needs no other */
			for (size_t r = 0; r < n && !covers(all, w); r++) {
				PhoneNumberMatcher m(util, piece, regions[r], PhoneNumberMatcher::VALID,
						     max_tries);
				PhoneNumberMatch match;

				while (m.HasNext() && m.Next(&match)) {
					found f;
					bool dup = false;

					f.begin = w.first + (size_t)match.start();
					f.end = f.begin + match.length();
					if (f.end > len || f.begin >= f.end)
						continue;
					util.GetNationalSignificantNumber(match.number(), &f.nsn);
					for (const found &g : all)
						dup |= f.begin < g.end && g.begin < f.end;
					if (!dup)
						all.push_back(f);
				}
			}
		}
		std::sort(all.begin(), all.end(),
			  [](const found &a, const found &b) { return a.begin < b.begin; });
		for (const found &f : all) {
			struct pii_phone_match pm;

			pm.begin = f.begin;
			pm.end = f.end;
			std::snprintf(pm.digits, sizeof(pm.digits), "%s", f.nsn.c_str());
			if (fn(&pm, data))
				break;
		}
		return 0;
	} catch (...) {
		return -1;
	}
}
