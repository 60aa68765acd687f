/*
 * Merging Python frames into native stacks (see merge.h).
 */
#include <stdio.h>

#include "merge.h"

/* How many Python frames the eval-loop call at position start runs. */
static size_t group_len(size_t npy, const bool *entry, bool grouped, size_t start)
{
	size_t n = 1;

	if (!grouped)
		return 1;
	while (start + n - 1 < npy - 1 && !entry[start + n - 1])
		n++;
	return n;
}

/*
 * Whether native frame j is the innermost frame of a call of the eval loop:
 * an eval-loop frame that does not continue a run of handlers inner of it.
 */
static bool begins_call(const struct merge_native *v, size_t j)
{
	if (!v[j].eval && !v[j].eval_part)
		return false;
	return j == 0 || !v[j - 1].eval_part;
}

long merge_stacks(size_t npy, const bool *entry, bool grouped, const struct merge_native *native,
		  size_t nnative, enum native_mode mode, bool open_end, struct merge_item *out,
		  char *why, size_t nwhy)
{
	size_t groups = 0, calls = 0, py = 0, n = 0;

	for (size_t i = 0; i < npy; i += group_len(npy, entry, grouped, i))
		groups++;
	for (size_t j = 0; j < nnative; j++)
		calls += begins_call(native, j);
	if (calls > groups || (calls < groups && !open_end)) {
		snprintf(why, nwhy, "the native stack enters Python %zu time%s, the Python stack "
			 "%zu time%s", calls, calls == 1 ? "" : "s", groups, groups == 1 ? "" : "s");
		return -1;
	}
	for (size_t j = 0; j < nnative; j++) {
		if (begins_call(native, j)) {
			size_t len = group_len(npy, entry, grouped, py);

			for (size_t k = 0; k < len; k++)
				out[n++] = (struct merge_item){ true, py++ };
			continue;
		}
		/* The rest of a call already placed. */
		if (native[j].eval || native[j].eval_part)
			continue;
		if (mode != NATIVE_ALL && (native[j].machinery || (native[j].unnamed && py > 0)))
			continue;
		out[n++] = (struct merge_item){ false, j };
	}
	/* Where the native stack ends early, the outer Python frames follow it. */
	while (py < npy)
		out[n++] = (struct merge_item){ true, py++ };
	return (long)n;
}
