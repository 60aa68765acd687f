/*
 * Flame graphs: aggregated folded stacks (folded.h) drawn as one
 * self-contained, interactive SVG file, with the root at the bottom, a box
 * per distinct stack prefix, hover details and click-to-zoom.
 */
#ifndef PYSTACK_FLAMEGRAPH_H
#define PYSTACK_FLAMEGRAPH_H

#include <stddef.h>
#include <stdio.h>

struct folded_entry;	/* from folded.h: { const char *stack; uint64_t count; } */

/*
 * Write an SVG flame graph of the stacks v[0..n) (each "a;b;c" with its count; any
 * order) to out.  title is shown at the top (may be NULL); strings are arbitrary bytes
 * and are escaped here.  Returns 0, or -errno when writing failed.
 */
int flamegraph_write(FILE *out, const struct folded_entry *v, size_t n, const char *title);

#endif
