/*
 * libFuzzer target: any bytes as a cluster description.  Parsing must never
 * crash, leak or trip a sanitizer; a valid model must also render and dump.
 *   make fuzz FUZZ_TIME=600
 */
#include <stddef.h>
#include <stdint.h>

#include "cpk/model.h"
#include "cpk/render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cpk_diags d = CPK_DIAGS_INIT;
	struct cpk_model *m = NULL;

	if (cpk_model_parse("fuzz.yaml", (const char *)data, size, &m, &d) == CPK_OK) {
		struct cpk_fileset fs = CPK_FILESET_INIT;
		struct cpk_buf b = CPK_BUF_INIT;

		cpk_render(m, CPK_ROLE_CONTROL, NULL, &fs);
		cpk_fileset_release(&fs);
		if (m->n_nodes && cpk_render(m, CPK_ROLE_COMPUTE, m->nodes[0].name, &fs) == CPK_OK)
			cpk_fileset_release(&fs);
		cpk_model_dump(m, &b);
		cpk_buf_release(&b);
		cpk_model_free(m);
	} else {
		struct cpk_buf b = CPK_BUF_INIT;

		cpk_diags_format(&d, &b);
		cpk_buf_release(&b);
	}
	cpk_diags_release(&d);
	return 0;
}
