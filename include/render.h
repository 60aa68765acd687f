/*
 * Renderers: one snapshot model, several output formats.  A renderer only
 * prints what the snapshot holds; it never touches the target.
 */
#ifndef PYSTACK_RENDER_H
#define PYSTACK_RENDER_H

#include <string.h>

#include <stdbool.h>
#include <stdio.h>

struct snapshot;

struct render_opts {
	FILE *out;
	bool color;		/* ANSI colours (text only) */
	double stuck_after;	/* watch: flag threads unchanged this long (seconds; 0: never) */
	/* Text, to fit a screen: */
	size_t max_frames;	/* only the innermost frames of each thread (0: all) */
	bool hide_source;	/* leave out the source lines */
	unsigned indent;	/* spaces before each frame's lines (a task under the one awaiting it) */
};

struct renderer {
	const char *name;
	void (*snapshot)(const struct snapshot *s, const struct render_opts *o);
};

extern const struct renderer render_text;
extern const struct renderer render_json;
extern const struct renderer render_collapsed;	/* see folded.h */

/* The renderer called name, or NULL. */
const struct renderer *renderer_find(const char *name);

/* A signal's name without "SIG" ("SEGV"), or "?" for a number with none. */
static inline const char *signal_name(int signo)
{
	const char *name = sigabbrev_np(signo);

	return name ? name : "?";
}

#endif
