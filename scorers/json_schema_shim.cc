/*
 * json_schema_shim: valijson behind the C interface of json_schema_shim.h,
 * built as the module json_schema.so that json_schema_load.c opens.
 *
 * valijson's Validator keeps a cache of compiled "pattern" regexes keyed by
 * the pattern text, so one Validator per thread serves every schema.
 */
#define VALIJSON_USE_EXCEPTIONS 1

#include "json_schema_shim.h"

#include <cstddef>
#include <cstring>
#include <exception>
#include <regex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

extern "C" {
#include "xalloc.h"
}

/* the module exports these three alone (it is built with hidden visibility) */
#define EXPORT __attribute__((visibility("default")))

struct eg_schema {
	valijson::Schema schema; /* compiled */
	bool uses_regex;         /* "pattern" or "patternProperties" appear */
};

namespace {

char *dup(const std::string &s)
{
	return xstrndup(s.data(), s.size());
}

/* nesting depth of arrays and objects in JSON text, stopping past max */
size_t text_depth(const char *p, size_t len, size_t max)
{
	size_t depth = 0, deepest = 0;
	bool in_string = false;

	for (size_t i = 0; i < len && deepest <= max; i++) {
		char c = p[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else if (c == '[' || c == '{') {
			if (++depth > deepest)
				deepest = depth;
		} else if ((c == ']' || c == '}') && depth) {
			depth--;
		}
	}
	return deepest;
}

bool parse(const char *text, size_t len, nlohmann::json &out, std::string &why)
{
	if (text_depth(text, len, EG_SCHEMA_MAX_DEPTH) > EG_SCHEMA_MAX_DEPTH) {
		why = "nested deeper than " + std::to_string(EG_SCHEMA_MAX_DEPTH) + " levels";
		return false;
	}
	if (const void *nul = std::memchr(text, '\0', len)) {
		/* nlohmann's lexer would take it for the end of the input */
		why = "not valid JSON at byte " +
		      std::to_string(static_cast<const char *>(nul) - text) + ": a NUL byte";
		return false;
	}
	try {
		out = nlohmann::json::parse(text, text + len);
	} catch (const nlohmann::json::parse_error &e) {
		/* "[json.exception.parse_error.101] parse error at line 1, column 2: ..." */
		const char *m = std::strstr(e.what(), "] ");
		why = "not valid JSON at byte " + std::to_string(e.byte) + ": " +
		      (m ? m + 2 : e.what());
		return false;
	} catch (const nlohmann::json::exception &e) {
		/* out_of_range: a number too large for a double, as 2e308 */
		const char *m = std::strstr(e.what(), "] ");
		why = std::string("not valid JSON: ") + (m ? m + 2 : e.what());
		return false;
	}
	return true;
}

/*
 * Check what valijson would get wrong, before it sees the schema: every
 * pattern is compiled here (std::regex, as valijson does) so that a bad one
 * is a load error rather than an error on every case; a "$ref" that is not
 * a fragment of this document ("#...") is refused, since valijson fetches
 * nothing and loops forever on a relative reference it resolves against
 * the document itself. Returns whether "pattern" or "patternProperties"
 * appear. Throws std::regex_error or std::runtime_error.
 */
bool check_schema(const nlohmann::json &j)
{
	bool found = false;

	if (j.is_object()) {
		for (auto it = j.begin(); it != j.end(); ++it) {
			const auto &k = it.key();
			const auto &v = it.value();
			if (k == "const" || k == "enum" || k == "default" || k == "examples")
				continue; /* values, not schemas */
			if ((k == "$ref" || k == "$dynamicRef") && v.is_string() &&
			    v.get_ref<const std::string &>().compare(0, 1, "#"))
				throw std::runtime_error(
					k + " \"" + v.get<std::string>() +
					"\": only references within the schema (\"#...\") are supported");
			if (k == "pattern" && v.is_string()) {
				std::regex re(v.get_ref<const std::string &>());
				found = true;
			} else if (k == "patternProperties" && v.is_object()) {
				for (auto p = v.begin(); p != v.end(); ++p)
					std::regex re(p.key());
				found = true;
			}
			if (check_schema(v))
				found = true;
		}
	} else if (j.is_array()) {
		for (const auto &v : j)
			if (check_schema(v))
				found = true;
	}
	return found;
}

/* keywords whose values are schemas: maps of them, lists of them, single ones */
const char *const schema_maps[] = { "properties", "patternProperties", "$defs", "definitions",
				    "dependencies" };
const char *const schema_lists[] = { "allOf", "anyOf", "oneOf", "items" };
const char *const schema_singles[] = { "not", "if", "then", "else", "items", "additionalItems",
				       "contains", "additionalProperties", "propertyNames",
				       "unevaluatedItems", "unevaluatedProperties" };

/*
 * Rewrite the draft 2020-12 keywords valijson (draft 7) lacks into their
 * draft 7 equivalents, in every schema position: prefixItems and items
 * become items (an array) and additionalItems; dependentRequired and
 * dependentSchemas become dependencies. "format" is dropped: in 2020-12 it
 * is an annotation unless a vocabulary asks for assertion, and valijson
 * would also apply it to values that are not strings.
 */
void translate(nlohmann::json &j)
{
	if (!j.is_object())
		return;
	j.erase("format");
	if (j.contains("$ref") && j["$ref"].is_string()) {
		/* a pointer into a rewritten keyword follows it */
		std::string ref = j["$ref"];
		for (const auto &m : { std::make_pair("/prefixItems/", "/items/"),
				       std::make_pair("/dependentSchemas/", "/dependencies/") }) {
			size_t at;
			while ((at = ref.find(m.first)) != std::string::npos)
				ref.replace(at, std::strlen(m.first), m.second);
		}
		j["$ref"] = ref;
	}
	if (j.contains("prefixItems") && j["prefixItems"].is_array()) {
		if (j.contains("items"))
			j["additionalItems"] = std::move(j["items"]);
		j["items"] = std::move(j["prefixItems"]);
		j.erase("prefixItems");
	}
	for (const char *k : { "dependentRequired", "dependentSchemas" }) {
		if (!j.contains(k) || !j[k].is_object())
			continue;
		for (auto it = j[k].begin(); it != j[k].end(); ++it)
			j["dependencies"][it.key()] = it.value();
		j.erase(k);
	}
	for (const char *k : schema_maps)
		if (j.contains(k) && j[k].is_object())
			for (auto &v : j[k])
				translate(v);
	for (const char *k : schema_lists)
		if (j.contains(k) && j[k].is_array())
			for (auto &v : j[k])
				translate(v);
	for (const char *k : schema_singles)
		if (j.contains(k) && j[k].is_object())
			translate(j[k]);
}

/* longest chain of schemas applied to one value that is followed */
const size_t max_chain = 1000;

typedef std::unordered_map<const nlohmann::json *, int> visit_map;

/*
 * Refuse a cycle of schemas applied to the same value ($ref, allOf, anyOf,
 * oneOf, not, if/then/else, dependencies): valijson would recurse until the
 * stack overflows. state: 1 on the current path, 2 done.
 */
void same_value_cycle(const nlohmann::json &doc, const nlohmann::json &node, visit_map &state,
		      size_t depth)
{
	if (!node.is_object())
		return;
	auto it = state.find(&node);
	if (it != state.end() && it->second == 2)
		return;
	if (it != state.end())
		throw std::runtime_error("a cycle of references applies a schema to the same value "
					 "forever");
	if (depth > max_chain)
		throw std::runtime_error("references chained deeper than " +
					 std::to_string(max_chain));
	state[&node] = 1;
	for (const char *k : { "allOf", "anyOf", "oneOf" })
		if (node.contains(k) && node[k].is_array())
			for (const auto &v : node[k])
				same_value_cycle(doc, v, state, depth + 1);
	for (const char *k : { "not", "if", "then", "else" })
		if (node.contains(k))
			same_value_cycle(doc, node[k], state, depth + 1);
	if (node.contains("dependencies") && node["dependencies"].is_object())
		for (const auto &v : node["dependencies"])
			same_value_cycle(doc, v, state, depth + 1);
	if (node.contains("$ref") && node["$ref"].is_string()) {
		const std::string &ref = node["$ref"].get_ref<const std::string &>();
		if (ref.size() > 1 && ref[0] == '#' && ref[1] == '/') {
			try {
				nlohmann::json::json_pointer ptr(ref.substr(1));
				if (doc.contains(ptr))
					same_value_cycle(doc, doc.at(ptr), state, depth + 1);
			} catch (const nlohmann::json::exception &) {
				/* not a pointer nlohmann reads: valijson reports it */
			}
		} else if (ref == "#") {
			same_value_cycle(doc, doc, state, depth + 1);
		}
	}
	state[&node] = 2;
}

/* same_value_cycle from every schema of the document */
void check_cycles(const nlohmann::json &doc, const nlohmann::json &node, visit_map &state)
{
	if (!node.is_object())
		return;
	same_value_cycle(doc, node, state, 0);
	for (const char *k : schema_maps)
		if (node.contains(k) && node[k].is_object())
			for (const auto &v : node[k])
				check_cycles(doc, v, state);
	for (const char *k : schema_lists)
		if (node.contains(k) && node[k].is_array())
			for (const auto &v : node[k])
				check_cycles(doc, v, state);
	for (const char *k : schema_singles)
		if (node.contains(k))
			check_cycles(doc, node[k], state);
}

/* one JSON Pointer reference token: ~ and / escaped */
std::string pointer_token(const std::string &key)
{
	std::string t;

	for (char c : key) {
		if (c == '~')
			t += "~0";
		else if (c == '/')
			t += "~1";
		else
			t += c;
	}
	return t;
}

/* the pointer to a string or key longer than the regex bound, if there is one */
bool long_string(const nlohmann::json &j, std::string &where)
{
	if (j.is_string())
		return j.get_ref<const std::string &>().size() > EG_SCHEMA_PATTERN_MAX;
	if (j.is_object()) {
		for (auto it = j.begin(); it != j.end(); ++it) {
			std::string sub;
			if (it.key().size() > EG_SCHEMA_PATTERN_MAX || long_string(it.value(), sub)) {
				where = "/" + pointer_token(it.key()) + sub;
				return true;
			}
		}
	} else if (j.is_array()) {
		size_t i = 0;
		for (const auto &v : j) {
			std::string sub;
			if (long_string(v, sub)) {
				where = "/" + std::to_string(i) + sub;
				return true;
			}
			i++;
		}
	}
	return false;
}

/* valijson's context ("<root>", "[key]", "[0]", ...) as a JSON Pointer */
std::string context_pointer(const std::vector<std::string> &context)
{
	std::string p;

	for (const auto &c : context) {
		if (c.size() >= 2 && c.front() == '[' && c.back() == ']')
			p += "/" + pointer_token(c.substr(1, c.size() - 2));
	}
	return p.empty() ? "/" : p;
}

/*
 * valijson's messages do not name the keyword that failed; these
 * fragments of its messages do (most specific first).
 */
const char *error_keyword(const std::string &d)
{
	static const struct {
		const char *fragment, *keyword;
	} table[] = {
		{ "anyOf", "anyOf" },
		{ "exactly one child", "oneOf" },
		{ "if-then-else", "if" },
		{ "'const'", "const" },
		{ "'contains'", "contains" },
		{ "enum values", "enum" },
		{ "'pattern'", "pattern" },
		{ "associated with pattern", "patternProperties" },
		{ "property name", "propertyNames" },
		{ "additional properties", "additionalProperties" },
		{ "Object contains a property", "additionalProperties" },
		{ "'type'", "type" },
		{ "Missing required property", "required" },
		{ "Missing dependency", "dependencies" },
		{ "dependent schema", "dependencies" },
		{ "multiple of", "multipleOf" },
		{ "multipleOf", "multipleOf" },
		{ "number less than or equal", "maximum" },
		{ "number less than", "exclusiveMaximum" },
		{ "number greater than or equal", "minimum" },
		{ "number greater than", "exclusiveMinimum" },
		{ "String should be no more", "maxLength" },
		{ "String should be no fewer", "minLength" },
		{ "Array should contain no more", "maxItems" },
		{ "Array should contain no fewer", "minItems" },
		{ "Object should have no more", "maxProperties" },
		{ "Object should have no fewer", "minProperties" },
		{ "Elements at indexes", "uniqueItems" },
		{ "more items than allowed", "items" },
		{ "item #", "items" },
		{ "allOf", "allOf" },
		{ "not ", "not" },
		{ "should be a valid", "format" },
	};

	for (const auto &row : table)
		if (d.find(row.fragment) != std::string::npos)
			return row.keyword;
	return "schema";
}

/* the most specific error: the deepest, the first of those */
std::string describe(const valijson::ValidationResults &results)
{
	const valijson::ValidationResults::Error *best = nullptr;

	for (const auto &e : results)
		if (!best || e.context.size() > best->context.size())
			best = &e;
	if (!best)
		return "/: schema: not valid";
	std::string d = best->description;
	while (!d.empty() && (d.back() == '.' || d.back() == ' '))
		d.pop_back();
	return context_pointer(best->context) + ": " + error_keyword(d) + ": " + d;
}

} // namespace

extern "C" EXPORT struct eg_schema *eg_schema_impl_compile(const char *text, size_t len, char **why)
{
	nlohmann::json doc;
	std::string msg;

	*why = nullptr;
	if (!parse(text, len, doc, msg)) {
		*why = dup("schema is " + msg);
		return nullptr;
	}
	if (!doc.is_object() && !doc.is_boolean()) {
		*why = dup("a schema must be an object or a boolean, not " +
			   std::string(doc.type_name()));
		return nullptr;
	}
	try {
		eg_schema *s = new eg_schema();
		try {
			valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
			valijson::adapters::NlohmannJsonAdapter adapter(doc);
			translate(doc);
			s->uses_regex = check_schema(doc);
			visit_map state;
			check_cycles(doc, doc, state);
			parser.populateSchema(adapter, s->schema);
		} catch (...) {
			delete s;
			throw;
		}
		return s;
	} catch (const std::regex_error &e) {
		*why = dup(std::string("a pattern is not a valid regular expression: ") + e.what());
	} catch (const std::exception &e) {
		*why = dup(e.what());
	} catch (...) {
		*why = dup("the schema could not be compiled");
	}
	return nullptr;
}

extern "C" EXPORT void eg_schema_impl_free(struct eg_schema *schema)
{
	delete schema;
}

extern "C" EXPORT enum eg_schema_verdict eg_schema_impl_validate(const struct eg_schema *schema,
								 const char *text, size_t len,
								 char **why)
{
	static thread_local valijson::Validator validator;
	nlohmann::json doc;
	std::string msg, where;

	*why = nullptr;
	if (!parse(text, len, doc, msg)) {
		*why = dup(msg);
		return msg.compare(0, 6, "nested") ? EG_SCHEMA_NOT_JSON : EG_SCHEMA_ERROR;
	}
	if (schema->uses_regex && long_string(doc, where)) {
		*why = dup((where.empty() ? "/" : where) + ": a string longer than " +
			   std::to_string(EG_SCHEMA_PATTERN_MAX) +
			   " bytes is not checked against a pattern");
		return EG_SCHEMA_ERROR;
	}
	try {
		valijson::ValidationResults results;
		valijson::adapters::NlohmannJsonAdapter target(doc);
		/* without results valijson stops at the first error and keeps no
		 * context; only an invalid output is walked again for its reasons */
		if (validator.validate(schema->schema, target, nullptr))
			return EG_SCHEMA_VALID;
		if (validator.validate(schema->schema, target, &results))
			return EG_SCHEMA_VALID;
		*why = dup(describe(results));
		return EG_SCHEMA_INVALID;
	} catch (const std::exception &e) {
		*why = dup(std::string("validation failed: ") + e.what());
	} catch (...) {
		*why = dup("validation failed");
	}
	return EG_SCHEMA_ERROR;
}
