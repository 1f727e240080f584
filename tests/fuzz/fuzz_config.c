/*
 * libFuzzer target: evalgate.json, read by config_load from a file holding
 * the input, and its gates by gates_load, as `evalgate validate` reads them.
 * Nothing may crash or leak; a refused config or gate list leaves nothing
 * to release. An accepted config must be complete (target, gateway, a
 * 64-digit hash), every gate named, and neither may depend on the layout:
 * the same document printed compactly loads again, to the same hash and
 * the same gates.
 *
 * Built by -DEG_FUZZ=ON (see README.md here); ./dev.sh fuzz runs it on its
 * seeds in corpus/config/. Refused configs print their error: run it with
 * -close_fd_mask=2 to silence them.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "fuzz_util.h"
#include "gate.h"
#include "strbuf.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* -1 when gates_load refuses the gates, else how many it read */
static long check_config(const struct eg_config *cfg)
{
	struct gates gs;
	long n;
	size_t i;

	/* base_url is NULL only while its environment variable is unset (said in unresolved) */
	if (strlen(cfg->hash) != 64 || !cJSON_IsObject(cfg->root) || !cfg->target.name ||
	    !cfg->target.model || !cfg->gateway.base_url != !!cfg->gateway.unresolved)
		abort();
	for (i = 0; i < cfg->n_suites; i++)
		if (!cfg->suites[i])
			abort();
	if (gates_load(&gs, cfg))
		return -1;
	if (gs.n != (size_t)cJSON_GetArraySize(cfg->gates))
		abort();
	for (i = 0; i < gs.n; i++)
		if (!gs.v[i].type || !gs.v[i].name || !*gs.v[i].name || !gs.v[i].metric)
			abort();
	n = (long)gs.n;
	gates_release(&gs);
	return n;
}

/* the accepted document, printed without layout, loads to the same hash and gates */
static void check_reload(const struct eg_config *cfg, long n_gates, const char *dir)
{
	struct strbuf path = STRBUF_INIT;
	struct eg_config again;
	char *text = cJSON_PrintUnformatted(cfg->root);

	if (!text)
		abort();
	fuzz_file_write(&path, dir, "compact.json", text, strlen(text));
	if (config_load(&again, path.buf) || strcmp(again.hash, cfg->hash) ||
	    check_config(&again) != n_gates)
		abort();
	config_release(&again);
	cJSON_free(text);
	strbuf_release(&path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf dir = STRBUF_INIT, path = STRBUF_INIT;
	struct eg_config cfg;

	fuzz_dir_make(&dir);
	fuzz_file_write(&path, dir.buf, "evalgate.json", data, size);
	if (config_load(&cfg, path.buf) == 0) {
		check_reload(&cfg, check_config(&cfg), dir.buf);
		config_release(&cfg);
	}
	fuzz_dir_remove(dir.buf);
	strbuf_release(&path);
	strbuf_release(&dir);
	return 0;
}
