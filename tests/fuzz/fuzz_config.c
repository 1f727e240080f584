/*
 * libFuzzer target: evalgate.json, read by config_load from a file holding
 * the input. It must never crash or leak; a refused config leaves nothing
 * to release. An accepted one must be complete (target, gate names, a
 * 64-digit hash), and must not depend on its layout: the same document
 * printed compactly loads again, to the same hash.
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
#include "strbuf.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_config(const struct eg_config *cfg)
{
	size_t i;

	if (strlen(cfg->hash) != 64 || !cJSON_IsObject(cfg->root) || !cfg->target.name ||
	    !cfg->target.model || !cfg->gateway.base_url)
		abort();
	for (i = 0; i < cfg->n_gates; i++)
		if (!cfg->gates[i].name || !*cfg->gates[i].name || !cfg->gates[i].metric_name)
			abort();
	for (i = 0; i < cfg->n_suites; i++)
		if (!cfg->suites[i])
			abort();
}

/* the accepted document, printed without layout, loads to the same config hash */
static void check_reload(const struct eg_config *cfg, const char *dir)
{
	struct strbuf path = STRBUF_INIT;
	struct eg_config again;
	char *text = cJSON_PrintUnformatted(cfg->root);

	if (!text)
		abort();
	fuzz_file_write(&path, dir, "compact.json", text, strlen(text));
	if (config_load(&again, path.buf) || strcmp(again.hash, cfg->hash))
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
		check_config(&cfg);
		check_reload(&cfg, dir.buf);
		config_release(&cfg);
	}
	fuzz_dir_remove(dir.buf);
	strbuf_release(&path);
	strbuf_release(&dir);
	return 0;
}
