/*
 * A bound on YAML nesting, checked before libyaml builds a document: its
 * scanner does work per token in proportion to the flow nesting, so 100,000
 * nested '[' took 73 s.  Reading events up to the first collection nested
 * too deeply costs at most CPK_YAML_MAX_DEPTH per token.
 */
#include <yaml.h>

#include "model_priv.h"

int cpk_yaml_too_deep(const char *text, size_t len, int *line, int *col)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	int depth = 0, r = 0;

	if (!yaml_parser_initialize(&parser))
		return -1;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	for (;;) {
		if (!yaml_parser_parse(&parser, &ev))
			break;	/* a syntax error: loading the document says it */
		if (ev.type == YAML_SEQUENCE_START_EVENT ||
		    ev.type == YAML_MAPPING_START_EVENT) {
			if (++depth > CPK_YAML_MAX_DEPTH) {
				*line = (int)ev.start_mark.line + 1;
				*col = (int)ev.start_mark.column + 1;
				r = 1;
			}
		} else if (ev.type == YAML_SEQUENCE_END_EVENT ||
			   ev.type == YAML_MAPPING_END_EVENT) {
			depth--;
		}
		if (ev.type == YAML_STREAM_END_EVENT || r) {
			yaml_event_delete(&ev);
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return r;
}
