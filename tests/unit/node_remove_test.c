/*
 * Unit tests for lib/node/remove.c's refusal of nodes that are not ours to
 * remove: only a node's own fragment nodes.d/NAME.yaml counts (the rest of
 * cpk node del needs slurmctld: t4220).
 */
#include <stdio.h>

#include "tap.h"
#include "../../lib/node/node_priv.h"

int main(void)
{
	static const struct { const char *file, *name; int want; } cases[] = {
		{ "/etc/clusterpack/nodes.d/c1.yaml", "c1", 1 },
		{ "nodes.d/c1.yaml", "c1", 1 },
		{ "/tmp/x/nodes.d/gpu-07.yaml", "gpu-07", 1 },
		{ "/etc/clusterpack/cluster.yaml", "c1", 0 },
		{ "/etc/clusterpack/nodes.d/c10.yaml", "c1", 0 },
		{ "/etc/clusterpack/nodes.d/xc1.yaml", "c1", 0 },
		{ "/etc/clusterpack/nodes.d/c1.yaml.bak", "c1", 0 },
		{ "/etc/clusterpack/xnodes.d/c1.yaml", "c1", 0 },
		{ "/etc/clusterpack/nodes.d/group.yaml", "c1", 0 },
		{ "/etc/clusterpack/nodes.d/c1.yml", "c1", 0 },
		{ "c1.yaml", "c1", 0 },
		{ "", "c1", 0 },
		{ "/etc/clusterpack/nodes.d/.yaml", "", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int(cpk_node_own_fragment(cases[i].file, cases[i].name), cases[i].want,
		       "%s is %s's own fragment: %s", cases[i].file[0] ? cases[i].file : "(empty)",
		       cases[i].name[0] ? cases[i].name : "(empty)", cases[i].want ? "yes" : "no");
	return done_testing();
}
