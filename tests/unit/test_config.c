/* config: defaults, located field errors, ${VAR} expansion, the raw gates array, prices, the config hash */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "helper.h"
#include "jsonutil.h"
#include "banned.h"

static const char *cfg_path;

static void setup(void)
{
	th_tmpdir_setup();
	cfg_path = th_path("evalgate.json");
	th_stderr_start();
}

TestSuite(config, .init = setup, .fini = th_tmpdir_teardown);

static void write_cfg(const char *text)
{
	th_write(cfg_path, text);
}

#define TARGET "\"target\": {\"name\": \"bot\", \"version\": \"v1\", \"model\": \"m\"}"

/* a config whose gateway object holds base_url (line 3) and then body (from line 4) */
static void write_gateway(const char *base_url, const char *body)
{
	th_writef(cfg_path,
		  "{\n"
		  "  \"gateway\": {\n"
		  "    \"base_url\": %s%s\n"
		  "%s"
		  "  },\n"
		  "  " TARGET "\n"
		  "}\n",
		  base_url, *body ? "," : "", body);
}

/* config_load must fail with "<cfg_path>:<line>: <rest>" on stderr */
static void load_fails(int line, const char *rest)
{
	struct eg_config cfg;
	char want[1024];
	const char *err;

	cr_assert_eq(config_load(&cfg, cfg_path), -1, "accepted (want %s)", rest);
	/* a failed load leaves nothing to release */
	cr_assert_null(cfg.path);
	cr_assert_null(cfg.gateway.base_url);
	cr_assert_null(cfg.gates);
	cr_assert_null(cfg.root);
	err = th_stderr_take();
	if (line)
		snprintf(want, sizeof(want), "evalgate: %s:%d: %s\n", cfg_path, line, rest);
	else
		snprintf(want, sizeof(want), "%s", rest);
	cr_assert_not_null(strstr(err, want), "want '%s' in: %s", want, err);
}

static void load_ok(struct eg_config *cfg)
{
	cr_assert_eq(config_load(cfg, cfg_path), 0, "%s", th_stderr_take());
}

Test(config, defaults)
{
	struct eg_config cfg;

	write_gateway("\"http://127.0.0.1:4000/v1\"", "");
	load_ok(&cfg);
	cr_assert_str_eq(cfg.path, cfg_path);
	cr_assert_str_eq(cfg.gateway.base_url, "http://127.0.0.1:4000/v1");
	cr_assert_null(cfg.gateway.api_key_env);
	cr_assert_eq(cfg.gateway.n_headers, 0);
	cr_assert_float_eq(cfg.gateway.timeout_s, 60, 1e-9);
	cr_assert_eq(cfg.gateway.max_retries, 5);
	cr_assert_eq(cfg.gateway.concurrency, 32);
	cr_assert_float_eq(cfg.gateway.rps, 0, 1e-9);
	cr_assert_float_eq(cfg.gateway.max_error_rate, 0.05, 1e-9);
	cr_assert_eq(cfg.gateway.max_response_bytes, 16u << 20);
	cr_assert_str_eq(cfg.target.name, "bot");
	cr_assert_str_eq(cfg.target.version, "v1");
	cr_assert_str_eq(cfg.target.model, "m");
	cr_assert_null(cfg.target.system);
	cr_assert_null(cfg.target.params);
	cr_assert_null(cfg.judge.model);
	cr_assert_eq(cfg.judge.samples, 1);
	cr_assert_eq(cfg.n_suites, 0);
	cr_assert_null(cfg.gates);
	cr_assert_eq(strlen(cfg.hash), 64);
	cr_assert_not_null(cfg.root);
	config_release(&cfg);
	cr_assert_null(cfg.path);
	cr_assert_str_eq(th_stderr_take(), "");
}

Test(config, every_field_read)
{
	struct eg_config cfg;

	write_cfg("{\n"
		  "  \"gateway\": {\"base_url\": \"https://gw.example/v1///\", \"api_key_env\": \"MY_KEY\",\n"
		  "    \"headers\": {\"x-team\": \"support\", \"x-b\": \"2\"}, \"timeout_s\": 0.5,\n"
		  "    \"max_retries\": 0, \"concurrency\": 4096, \"rps\": 12.5, \"max_error_rate\": 1,\n"
		  "    \"max_response_bytes\": 1024},\n"
		  "  \"target\": {\"name\": \"bot\", \"version\": \"v2\", \"model\": \"gpt\",\n"
		  "    \"system\": \"be nice\", \"params\": {\"temperature\": 0}},\n"
		  "  \"judge\": {\"model\": \"j\", \"params\": {\"top_p\": 1}, \"samples\": 3},\n"
		  "  \"suites\": [\"a\", \"b/c\"],\n"
		  "  \"promotion\": {\"production\": {}}, \"registry\": \"sqlite:r.db\", \"prices\": {}\n"
		  "}\n");
	load_ok(&cfg);
	cr_assert_str_eq(cfg.gateway.base_url, "https://gw.example/v1", "trailing slashes dropped");
	cr_assert_str_eq(cfg.gateway.api_key_env, "MY_KEY");
	cr_assert_eq(cfg.gateway.n_headers, 2);
	cr_assert_str_eq(cfg.gateway.headers[0].name, "x-team");
	cr_assert_str_eq(cfg.gateway.headers[0].value, "support");
	cr_assert_str_eq(cfg.gateway.headers[1].name, "x-b");
	cr_assert_float_eq(cfg.gateway.timeout_s, 0.5, 1e-9);
	cr_assert_eq(cfg.gateway.max_retries, 0);
	cr_assert_eq(cfg.gateway.concurrency, 4096);
	cr_assert_float_eq(cfg.gateway.rps, 12.5, 1e-9);
	cr_assert_float_eq(cfg.gateway.max_error_rate, 1, 1e-9);
	cr_assert_eq(cfg.gateway.max_response_bytes, 1024);
	cr_assert_str_eq(cfg.target.system, "be nice");
	cr_assert(cJSON_IsObject(cfg.target.params));
	cr_assert_str_eq(cfg.judge.model, "j");
	cr_assert_eq(cfg.judge.samples, 3);
	cr_assert(cJSON_IsObject(cfg.judge.params));
	cr_assert_eq(cfg.n_suites, 2);
	cr_assert_str_eq(cfg.suites[1], "b/c");
	config_release(&cfg);
}

struct field_case {
	const char *field; /* a line of the gateway object */
	const char *msg;   /* the message after "file:4: " */
};

Test(config, gateway_field_ranges_and_types)
{
	static const struct field_case cases[] = {
		{ "\"timeout_s\": 0", "gateway.timeout_s: 0 is out of range [0.001, 3600]" },
		{ "\"timeout_s\": 3600.5", "gateway.timeout_s: 3600.5 is out of range [0.001, 3600]" },
		{ "\"timeout_s\": \"60\"", "gateway.timeout_s: expected a number" },
		{ "\"max_retries\": -1", "gateway.max_retries: -1 is out of range [0, 20]" },
		{ "\"max_retries\": 21", "gateway.max_retries: 21 is out of range [0, 20]" },
		{ "\"max_retries\": 2.5", "gateway.max_retries: expected a whole number" },
		{ "\"max_retries\": true", "gateway.max_retries: expected a number" },
		{ "\"concurrency\": 0", "gateway.concurrency: 0 is out of range [1, 4096]" },
		{ "\"concurrency\": 4097", "gateway.concurrency: 4097 is out of range [1, 4096]" },
		{ "\"concurrency\": 1.5", "gateway.concurrency: expected a whole number" },
		{ "\"concurrency\": null", "gateway.concurrency: expected a number" },
		{ "\"rps\": -1", "gateway.rps: -1 is out of range [0, 1e+06]" },
		{ "\"rps\": 1000001", "gateway.rps: 1e+06 is out of range [0, 1e+06]" },
		{ "\"rps\": [1]", "gateway.rps: expected a number" },
		{ "\"max_error_rate\": -0.01", "gateway.max_error_rate: -0.01 is out of range [0, 1]" },
		{ "\"max_error_rate\": 1.01", "gateway.max_error_rate: 1.01 is out of range [0, 1]" },
		{ "\"max_error_rate\": \"5%\"", "gateway.max_error_rate: expected a number" },
		{ "\"max_response_bytes\": 1023",
		  "gateway.max_response_bytes: 1023 is out of range [1024, 1.07374e+09]" },
		{ "\"max_response_bytes\": 1073741825",
		  "gateway.max_response_bytes: 1.07374e+09 is out of range [1024, 1.07374e+09]" },
		{ "\"max_response_bytes\": 4096.5", "gateway.max_response_bytes: expected a whole number" },
		{ "\"max_response_bytes\": {}", "gateway.max_response_bytes: expected a number" },
		{ "\"api_key_env\": \"1KEY\"",
		  "gateway.api_key_env: '1KEY' is not an environment variable name" },
		{ "\"api_key_env\": \"MY-KEY\"",
		  "gateway.api_key_env: 'MY-KEY' is not an environment variable name" },
		{ "\"api_key_env\": 5", "gateway.api_key_env: expected a string" },
		{ "\"headers\": [\"x\"]", "gateway.headers: expected an object of strings" },
		{ "\"headers\": {\"x-n\": 1}",
		  "gateway.headers: 'x-n': expected a header name and a one-line string value" },
		{ "\"headers\": {\"bad name\": \"v\"}",
		  "gateway.headers: 'bad name': expected a header name and a one-line string value" },
		{ "\"headers\": {\"x-crlf\": \"a\\r\\nb: c\"}",
		  "gateway.headers: 'x-crlf': expected a header name and a one-line string value" },
		{ "\"timeouts\": 5", "gateway.timeouts: unknown field" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char body[256];

		snprintf(body, sizeof(body), "    %s\n", cases[i].field);
		write_gateway("\"http://h/v1\"", body);
		load_fails(4, cases[i].msg);
	}
}

Test(config, gateway_base_url_errors)
{
	write_gateway("\"ftp://h/v1\"", "");
	load_fails(3, "gateway.base_url: expected an http:// or https:// URL, not 'ftp://h/v1'");
	write_gateway("42", "");
	load_fails(3, "gateway.base_url: expected a string");
	write_gateway("\"http://h\"", "    \"base_url\": \"http://i\"\n");
	load_fails(4, "base_url: key given twice in one object");
	/* cJSON reads 1e999 as infinity, which JSON cannot write back */
	write_gateway("\"http://h/v1\"", "    \"timeout_s\": 01e999\n");
	load_fails(4, "timeout_s: number out of range");
	write_gateway("\"http://h/v1\"", "    \"timeout_s\": -1e999\n");
	load_fails(4, "timeout_s: number out of range");
	write_cfg("{\n  \"gateway\": {\n    \"timeout_s\": 5\n  },\n  " TARGET "\n}\n");
	load_fails(2, "gateway.base_url: missing (a string is required)");
	write_cfg("{\n  " TARGET "\n}\n");
	load_fails(1, "gateway: missing");
	write_cfg("{\n  \"gateway\": \"http://h\",\n  " TARGET "\n}\n");
	load_fails(2, "gateway: expected an object");
}

Test(config, env_expansion_in_base_url)
{
	struct eg_config cfg;

	setenv("EG_UT_URL", "http://gw.example:8080/v1/", 1);
	write_gateway("\"${EG_UT_URL}\"", "");
	load_ok(&cfg);
	cr_assert_str_eq(cfg.gateway.base_url, "http://gw.example:8080/v1");
	config_release(&cfg);

	unsetenv("EG_UT_UNSET");
	write_gateway("\"${EG_UT_UNSET:-http://fallback:4000/v1}\"", "");
	load_ok(&cfg);
	cr_assert_str_eq(cfg.gateway.base_url, "http://fallback:4000/v1");
	config_release(&cfg);

	/* set but empty takes the default too */
	setenv("EG_UT_EMPTY", "", 1);
	write_gateway("\"${EG_UT_EMPTY:-http://d/v1}\"", "");
	load_ok(&cfg);
	cr_assert_str_eq(cfg.gateway.base_url, "http://d/v1");
	config_release(&cfg);

	/* a set variable wins over its default; several references in one value */
	setenv("EG_UT_HOST", "10.0.0.7", 1);
	write_gateway("\"http://${EG_UT_HOST:-localhost}:${EG_UT_PORT_UNSET:-4000}/${EG_UT_HOST}/v1\"", "");
	load_ok(&cfg);
	cr_assert_str_eq(cfg.gateway.base_url, "http://10.0.0.7:4000/10.0.0.7/v1");
	config_release(&cfg);

	/* an empty default */
	write_gateway("\"http://h/v1${EG_UT_UNSET:-}\"", "");
	load_ok(&cfg);
	cr_assert_str_eq(cfg.gateway.base_url, "http://h/v1");
	config_release(&cfg);
	cr_assert_str_eq(th_stderr_take(), "");
}

Test(config, env_expansion_in_headers)
{
	struct eg_config cfg;

	setenv("EG_UT_PK", "pk-123", 1);
	unsetenv("EG_UT_UNSET");
	write_gateway("\"http://h/v1\"",
		      "    \"headers\": {\"x-portkey-api-key\": \"${EG_UT_PK}\",\n"
		      "                \"x-team\": \"t-${EG_UT_UNSET:-none}\", \"x-plain\": \"$HOME\"}\n");
	load_ok(&cfg);
	cr_assert_eq(cfg.gateway.n_headers, 3);
	cr_assert_str_eq(cfg.gateway.headers[0].name, "x-portkey-api-key");
	cr_assert_str_eq(cfg.gateway.headers[0].value, "pk-123");
	cr_assert_str_eq(cfg.gateway.headers[1].value, "t-none");
	cr_assert_str_eq(cfg.gateway.headers[2].value, "$HOME", "only ${...} is expanded");
	config_release(&cfg);
}

Test(config, env_expansion_errors)
{
	struct eg_config cfg;
	char want[1024];

	unsetenv("EG_UT_MISSING");
	/* an unset base_url variable fails only the commands that call the gateway */
	write_gateway("\"${EG_UT_MISSING}/v1\"", "");
	cr_assert_eq(config_load(&cfg, cfg_path), 0);
	cr_assert_null(cfg.gateway.base_url);
	cr_assert_eq(config_gateway_ready(&cfg), -1);
	snprintf(want, sizeof(want),
		 "evalgate: %s:3: gateway.base_url: environment variable EG_UT_MISSING is not set\n",
		 cfg_path);
	cr_assert_str_eq(th_stderr_take(), want);
	config_release(&cfg);
	write_gateway("\"${EG_UT_MISSING:-http://h}/v1\"", "");
	cr_assert_eq(config_load(&cfg, cfg_path), 0);
	cr_assert_eq(config_gateway_ready(&cfg), 0);
	cr_assert_str_eq(cfg.gateway.base_url, "http://h/v1");
	config_release(&cfg);
	write_gateway("\"http://h/v1\"", "    \"headers\": {\"x-k\": \"${EG_UT_MISSING}\"}\n");
	load_fails(4, "gateway.headers: environment variable EG_UT_MISSING is not set");
	write_gateway("\"http://h/${EG_UT_MISSING\"", "");
	load_fails(3, "gateway.base_url: unterminated ${ in '${EG_UT_MISSING'");
	write_gateway("\"http://h/${}\"", "");
	load_fails(3, "gateway.base_url: bad ${...} reference");
	write_gateway("\"http://h/${:-x}\"", "");
	load_fails(3, "gateway.base_url: bad ${...} reference");
	write_gateway("\"http://h/${1A}\"", "");
	load_fails(3, "gateway.base_url: '1A' is not an environment variable name");
	write_gateway("\"http://h/${A B}\"", "");
	load_fails(3, "gateway.base_url: 'A B' is not an environment variable name");
}

Test(config, expanded_values_are_never_printed)
{
	struct eg_config cfg;
	const char *err;

	setenv("EG_UT_SECRET", "sk-very-secret-value", 1);
	write_gateway("\"${EG_UT_SECRET}\"", "");
	cr_assert_eq(config_load(&cfg, cfg_path), -1);
	err = th_stderr_take();
	cr_assert_not_null(strstr(err, "gateway.base_url: expected an http:// or https:// URL, not '${EG_UT_SECRET}'"),
			   "%s", err);
	cr_assert_null(strstr(err, "sk-very-secret"), "%s", err);

	/* a header whose expanded value spans lines is refused, without the value */
	setenv("EG_UT_SECRET", "sk-very\r\nx-injected: 1", 1);
	write_gateway("\"http://h/v1\"", "    \"headers\": {\"x-k\": \"${EG_UT_SECRET}\"}\n");
	cr_assert_eq(config_load(&cfg, cfg_path), -1);
	err = th_stderr_take();
	cr_assert_not_null(strstr(err, ":4: gateway.headers: 'x-k': the expanded value spans lines"),
			   "%s", err);
	cr_assert_null(strstr(err, "sk-very"), "%s", err);
}

Test(config, authorization_header_refused)
{
	write_gateway("\"http://h/v1\"", "    \"headers\": {\"x-a\": \"1\",\n\"Authorization\": \"Bearer sk-1\"}\n");
	load_fails(5, "gateway.headers: set the key with api_key_env, not an Authorization header");
	write_gateway("\"http://h/v1\"", "    \"headers\": {\"authorization\": \"Bearer sk-1\"}\n");
	load_fails(4, "gateway.headers: set the key with api_key_env, not an Authorization header");
	write_gateway("\"http://h/v1\"", "    \"headers\": {\"AUTHORIZATION\": \"${EG_UT_X:-k}\"}\n");
	load_fails(4, "gateway.headers: set the key with api_key_env, not an Authorization header");
}

Test(config, top_level_and_target_errors)
{
	write_cfg("[]\n");
	load_fails(1, "expected a JSON object");
	write_cfg("{\n  \"gateway\": {\"base_url\": \"http://h\"},\n  " TARGET ",\n  \"gatez\": []\n}\n");
	load_fails(4, "gatez: unknown field");
	write_cfg("{\n  \"gateway\": {\"base_url\": \"http://h\"}\n}\n");
	load_fails(1, "target: missing");
	write_cfg("{\n  \"gateway\": {\"base_url\": \"http://h\"},\n  \"target\": {\"name\": \"\",\n"
		  "  \"version\": \"v\", \"model\": \"m\"}\n}\n");
	load_fails(3, "target.name: must not be empty");
	write_cfg("{\n  \"gateway\": {\"base_url\": \"http://h\"},\n  \"target\": {\"name\": \"n\",\n"
		  "  \"version\": \"v\"}\n}\n");
	load_fails(3, "target.model: missing (a string is required)");
	write_cfg("{\n  \"gateway\": {\"base_url\": \"http://h\"},\n  \"target\": {\"name\": \"n\",\n"
		  "  \"version\": \"v\", \"model\": \"m\",\n  \"params\": [1]}\n}\n");
	load_fails(5, "target.params: expected an object");
	write_cfg("{\n  \"gateway\": {\"base_url\": \"http://h\"},\n  " TARGET ",\n"
		  "  \"judge\": {\"samples\": 26}\n}\n");
	load_fails(4, "judge.samples: 26 is out of range [1, 25]");
	write_cfg("{\n  \"gateway\": {\"base_url\": \"http://h\"},\n  " TARGET ",\n"
		  "  \"judge\": {\"samples\": 2.5}\n}\n");
	load_fails(4, "judge.samples: expected a whole number");
	write_cfg("{\n  \"gateway\": {\"base_url\": \"http://h\"},\n  " TARGET ",\n"
		  "  \"suites\": [\"a\",\n 7]\n}\n");
	load_fails(5, "suites: expected an array of strings");
	write_cfg("{\n  \"gateway\": {\"base_url\": \"http://h\"},\n  " TARGET ",\n"
		  "  \"registry\": {}\n}\n");
	load_fails(4, "registry: expected a string");
}

Test(config, missing_file)
{
	struct eg_config cfg;
	const char *err;

	cr_assert_eq(config_load(&cfg, cfg_path), -1);
	err = th_stderr_take();
	cr_assert_not_null(strstr(err, "evalgate.json: cannot open"), "%s", err);
	cr_assert_null(cfg.path);
}

/* a config with the target and the given gates (from line 5) */
static void write_gates(const char *gates)
{
	th_write_gates_config(cfg_path, gates, "");
}

/* the gates layer parses the entries (tests/unit/test_gate.c); the config keeps them, located */
Test(config, gates_kept_raw)
{
	struct eg_config cfg;
	struct jdoc d;
	const cJSON *g;

	write_gates("    {\"name\": \"golden pass rate\", \"suite\": \"s1\", \"metric\": \"pass_rate\", \"min\": 0.95},\n"
		    "    {\"metric\": \"no such metric\",\n"
		    "     \"max\": 2}\n");
	load_ok(&cfg);
	cr_assert(cJSON_IsArray(cfg.gates));
	cr_assert_eq(cJSON_GetArraySize(cfg.gates), 2);
	cr_assert_eq(cfg.gates, cJSON_GetObjectItemCaseSensitive(cfg.root, "gates"));
	config_jdoc(&cfg, &d);
	cr_assert_str_eq(d.file, cfg_path);
	g = cJSON_GetArrayItem(cfg.gates, 0);
	cr_assert_eq(jdoc_line(&d, g), 5);
	cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(g, "name")->valuestring, "golden pass rate");
	g = cJSON_GetArrayItem(cfg.gates, 1);
	cr_assert_eq(jdoc_line(&d, g), 6);
	cr_assert_eq(jdoc_line(&d, cJSON_GetObjectItemCaseSensitive(g, "max")), 7);
	cr_assert_eq(jdoc_error(&d, cJSON_GetObjectItemCaseSensitive(g, "max"), "gates[1].max",
				"checked by the gates layer"), -1);
	cr_assert_not_null(strstr(th_stderr_take(), ":7: gates[1].max: checked by the gates layer\n"));
	config_release(&cfg);
	cr_assert_null(cfg.gates);
	cr_assert_null(cfg.text);
}

Test(config, gates_array_errors)
{
	write_gates("    {\"metric\": \"pass_rate\", \"min\": 0.9},\n    7\n");
	load_fails(6, "gates: gate 1: expected an object");
	write_cfg("{\n  \"gateway\": {\"base_url\": \"http://h\"},\n  " TARGET ",\n  \"gates\": {}\n}\n");
	load_fails(4, "gates: expected an array");
}

/* a config with the target, the given gates (from line 5) and the given prices member */
static void write_gates_prices(const char *gates, const char *prices)
{
	th_write_gates_config(cfg_path, gates, prices);
}

Test(config, prices_read)
{
	struct eg_config cfg;

	write_gates_prices(
		"    {\"name\": \"budget\", \"metric\": \"cost_usd\", \"tag\": \"t\", \"max\": 5.5}\n",
		"\"prices\": {\"m\": {\"input_per_mtok\": 0.15, \"output_per_mtok\": 0.6},\n"
		"             \"other\": {\"output_per_mtok\": 10, \"input_per_mtok\": 2}}");
	load_ok(&cfg);
	cr_assert_eq(cfg.n_prices, 2);
	cr_assert_str_eq(cfg.prices[0].model, "m");
	cr_assert_float_eq(cfg.prices[0].input_per_mtok, 0.15, 1e-12);
	cr_assert_float_eq(cfg.prices[0].output_per_mtok, 0.6, 1e-12);
	cr_assert_not_null(config_price(&cfg, "other"));
	cr_assert_null(config_price(&cfg, "nosuch"));
	cr_assert_null(config_price(&cfg, NULL));
	/* 1000 prompt tokens at 0.15/M + 2000 completion tokens at 0.6/M */
	cr_assert_float_eq(config_cost(&cfg, "m", 1000, 2000), 0.00015 + 0.0012, 1e-15);
	cr_assert_float_eq(config_cost(&cfg, "other", 1000000, 0), 2, 1e-12);
	cr_assert_float_eq(config_cost(&cfg, "m", 0, 0), 0, 0);
	cr_assert(isnan(config_cost(&cfg, "m", -1, 20)), "unknown prompt tokens");
	cr_assert(isnan(config_cost(&cfg, "m", 20, -1)), "unknown completion tokens");
	cr_assert(isnan(config_cost(&cfg, "nosuch", 1, 1)), "no price");
	config_release(&cfg);

	write_gates("    {\"metric\": \"pass_rate\", \"min\": 0.5}\n");
	load_ok(&cfg);
	cr_assert_eq(cfg.n_prices, 0);
	cr_assert(isnan(config_cost(&cfg, "m", 1, 1)), "no prices section");
	config_release(&cfg);
}

Test(config, price_errors)
{
	static const struct {
		const char *prices; /* a prices member on line 7 */
		const char *want;
	} t[] = {
		{ "\"prices\": [1]", "prices: expected an object of models" },
		{ "\"prices\": {\"m\": 0.15}",
		  "prices: 'm': expected {\"input_per_mtok\": X, \"output_per_mtok\": Y}" },
		{ "\"prices\": {\"m\": {\"input_per_mtok\": 1}}",
		  "prices.m.output_per_mtok: missing (a number is required)" },
		{ "\"prices\": {\"m\": {\"input_per_mtok\": -1, \"output_per_mtok\": 1}}",
		  "prices.m.input_per_mtok: -1 is out of range [0, 1e+06]" },
		{ "\"prices\": {\"m\": {\"input_per_mtok\": \"1\", \"output_per_mtok\": 1}}",
		  "prices.m.input_per_mtok: expected a number" },
		{ "\"prices\": {\"m\": {\"input_per_mtok\": 1, \"output_per_mtok\": 1, \"currency\": 1}}",
		  "prices.m.currency: unknown field" },
		{ "\"prices\": {\"\": {\"input_per_mtok\": 1, \"output_per_mtok\": 1}}",
		  "prices: a model name must not be empty" },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		write_gates_prices("    {\"metric\": \"pass_rate\", \"min\": 0}\n", t[i].prices);
		load_fails(7, t[i].want);
	}
}

static void hash_of(const char *text, char out[65])
{
	struct eg_config cfg;

	write_cfg(text);
	load_ok(&cfg);
	memcpy(out, cfg.hash, 65);
	config_release(&cfg);
}

Test(config, hash_ignores_layout_and_key_order)
{
	char a[65], b[65], c[65], d[65], e[65];

	hash_of("{\"gateway\": {\"base_url\": \"http://h\", \"timeout_s\": 10},\n"
		" \"target\": {\"name\": \"bot\", \"version\": \"v1\", \"model\": \"m\"},\n"
		" \"gates\": [{\"metric\": \"pass_rate\", \"min\": 0.9}]}\n", a);
	hash_of("{\n\n  \"target\":{\"model\":\"m\",\"version\":\"v1\",\"name\":\"bot\"},\n"
		"\t\"gates\" : [ { \"min\" : 0.9 , \"metric\" : \"pass_rate\" } ] ,\n"
		"  \"gateway\":{\"timeout_s\":10.0,\"base_url\":\"http://h\"}\n}", b);
	cr_assert_str_eq(a, b);
	/* a changed value changes it */
	hash_of("{\"gateway\": {\"base_url\": \"http://h\", \"timeout_s\": 11},\n"
		" \"target\": {\"name\": \"bot\", \"version\": \"v1\", \"model\": \"m\"},\n"
		" \"gates\": [{\"metric\": \"pass_rate\", \"min\": 0.9}]}\n", c);
	cr_assert_str_neq(a, c);
	hash_of("{\"gateway\": {\"base_url\": \"http://h\", \"timeout_s\": 10},\n"
		" \"target\": {\"name\": \"bot\", \"version\": \"v2\", \"model\": \"m\"},\n"
		" \"gates\": [{\"metric\": \"pass_rate\", \"min\": 0.9}]}\n", d);
	cr_assert_str_neq(a, d);
	/* array order is content, not layout */
	hash_of("{\"gateway\": {\"base_url\": \"http://h\", \"timeout_s\": 10},\n"
		" \"target\": {\"name\": \"bot\", \"version\": \"v1\", \"model\": \"m\"},\n"
		" \"gates\": [{\"metric\": \"pass_rate\", \"min\": 0.9}, {\"metric\": \"error_rate\", \"max\": 0}]}\n", e);
	cr_assert_str_neq(a, e);
}

Test(config, hash_does_not_hold_expanded_secrets)
{
	char a[65], b[65];

	/* the hash is over the text as written, so a changed secret does not change it */
	setenv("EG_UT_PK", "one", 1);
	hash_of("{\"gateway\": {\"base_url\": \"http://h\", \"headers\": {\"x-k\": \"${EG_UT_PK}\"}},\n"
		" " TARGET "}\n", a);
	setenv("EG_UT_PK", "two", 1);
	hash_of("{\"gateway\": {\"base_url\": \"http://h\", \"headers\": {\"x-k\": \"${EG_UT_PK}\"}},\n"
		" " TARGET "}\n", b);
	cr_assert_str_eq(a, b);
}

/* a config with the target and the given repeat_policy value (on line 4) */
static void write_policy(const char *policy)
{
	th_writef(cfg_path,
		  "{\n"
		  "  \"gateway\": {\"base_url\": \"http://h\"},\n"
		  "  " TARGET ",\n"
		  "  \"repeat_policy\": %s\n"
		  "}\n",
		  policy);
}

static void policy_is(const char *policy, enum repeat_policy_kind kind, int k, const char *fmt)
{
	struct eg_config cfg;
	char buf[32];

	write_policy(policy);
	load_ok(&cfg);
	cr_assert_eq(cfg.repeat_policy.kind, kind, "%s", policy);
	cr_assert_eq(cfg.repeat_policy.min_pass, k, "%s", policy);
	cr_assert_eq(cfg.repeat_policy.line, 4);
	repeat_policy_format(&cfg.repeat_policy, buf, sizeof(buf));
	cr_assert_str_eq(buf, fmt);
	config_release(&cfg);
}

Test(config, repeat_policy_forms)
{
	struct eg_config cfg;
	char buf[32];

	/* absent: "all" */
	write_gateway("\"http://h\"", "");
	load_ok(&cfg);
	cr_assert_eq(cfg.repeat_policy.kind, REPEAT_ALL);
	cr_assert_eq(cfg.repeat_policy.line, 0);
	repeat_policy_format(&cfg.repeat_policy, buf, sizeof(buf));
	cr_assert_str_eq(buf, "all");
	config_release(&cfg);

	policy_is("\"all\"", REPEAT_ALL, 0, "all");
	policy_is("\"majority\"", REPEAT_MAJORITY, 0, "majority");
	policy_is("{\"min_pass\": 3}", REPEAT_MIN_PASS, 3, "min_pass:3");
	policy_is("{\"min_pass\": 1000}", REPEAT_MIN_PASS, 1000, "min_pass:1000");
}

Test(config, repeat_policy_errors)
{
	write_policy("\"most\"");
	load_fails(4, "repeat_policy: expected \"all\", \"majority\" or {\"min_pass\": K}");
	write_policy("3");
	load_fails(4, "repeat_policy: expected \"all\", \"majority\" or {\"min_pass\": K}");
	write_policy("{}");
	load_fails(4, "repeat_policy.min_pass: missing (a number is required)");
	write_policy("{\"min_pass\": 0}");
	load_fails(4, "repeat_policy.min_pass: 0 is out of range [1, 1000]");
	write_policy("{\"min_pass\": 2.5}");
	load_fails(4, "repeat_policy.min_pass: expected a whole number");
	write_policy("{\"min_pass\": \"2\"}");
	load_fails(4, "repeat_policy.min_pass: expected a number");
	write_policy("{\"min_pass\": 2, \"max_fail\": 1}");
	load_fails(4, "repeat_policy.max_fail: unknown field");
}

Test(config, repeat_policy_checked_against_the_repeats)
{
	struct eg_config cfg;
	char want[256];

	write_policy("{\"min_pass\": 3}");
	load_ok(&cfg);
	cr_assert_eq(repeat_policy_check(&cfg, 3), 0);
	cr_assert_eq(repeat_policy_check(&cfg, 10), 0);
	cr_assert_str_eq(th_stderr_take(), "");
	cr_assert_eq(repeat_policy_check(&cfg, 2), -1);
	snprintf(want, sizeof(want), "evalgate: %s:4: repeat_policy.min_pass: 3 is more than the "
		 "2 repeats of this run (run --repeat N)\n", cfg_path);
	cr_assert_str_eq(th_stderr_take(), want);
	cr_assert_eq(repeat_policy_check(&cfg, 1), -1);
	cr_assert_not_null(strstr(th_stderr_take(), "more than the 1 repeat of this run"));
	config_release(&cfg);

	/* the other policies hold for any number of repeats */
	write_policy("\"majority\"");
	load_ok(&cfg);
	cr_assert_eq(repeat_policy_check(&cfg, 1), 0);
	config_release(&cfg);
}

/* a config with the target and the given budget value (on line 4) */
static void write_budget(const char *budget)
{
	th_writef(cfg_path,
		  "{\n"
		  "  \"gateway\": {\"base_url\": \"http://h\"},\n"
		  "  " TARGET ",\n"
		  "  \"budget\": %s\n"
		  "}\n",
		  budget);
}

Test(config, budget)
{
	struct eg_config cfg;

	write_gateway("\"http://h\"", "");
	load_ok(&cfg);
	cr_assert_eq(cfg.budget.max_cost_usd, 0);
	cr_assert_eq(cfg.budget.max_tokens, 0);
	config_release(&cfg);
	write_budget("{\"max_cost_usd\": 2.5, \"max_tokens\": 100000}");
	load_ok(&cfg);
	cr_assert_float_eq(cfg.budget.max_cost_usd, 2.5, 1e-12);
	cr_assert_eq(cfg.budget.max_tokens, 100000);
	config_release(&cfg);
	write_budget("{\"max_tokens\": 7}");
	load_ok(&cfg);
	cr_assert_eq(cfg.budget.max_cost_usd, 0);
	cr_assert_eq(cfg.budget.max_tokens, 7);
	config_release(&cfg);

	write_budget("5");
	load_fails(4, "budget: expected an object");
	write_budget("{\"max_tokens\": 1.5}");
	load_fails(4, "budget.max_tokens: expected a whole number");
	write_budget("{\"max_cost_usd\": -1}");
	load_fails(4, "budget.max_cost_usd: -1 is out of range [0, 1e+09]");
	write_budget("{\"max_usd\": 1}");
	load_fails(4, "budget.max_usd: unknown field");
}
