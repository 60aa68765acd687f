/*
 * Replay of the fuzz targets' committed inputs without libFuzzer, for
 * `make unit` (and so under SANITIZE=address,undefined too): each file of
 * tests/fuzz/seeds and tests/fuzz/crashes (run from the top of the tree)
 * goes through the entry point of the readers' target, each file of
 * tests/fuzz/seeds-core and tests/fuzz/crashes-core through the core
 * reader's.  Given files or directories instead, it replays those (an
 * artifact of make fuzz, to debug it), through the core reader's target
 * after --core.
 *
 * A crash input passes when it runs to the end.  A seed that is an image
 * (*.img) must also still read as a Python process, with threads and
 * frames, and a seed that is a whole core (*.core) must still open, with
 * threads, maps and memory that reads: a change in the readers or in the
 * formats that leaves the seeds unreadable would otherwise leave the
 * fuzzer with nothing to start from, silently.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_core.h"
#include "fuzz_readers.h"
#include "msg.h"
#include "proc.h"

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

/* One input through the readers' target: 1 when it is a seed image that no longer reads, else 0. */
static int replay_image(const char *name, const char *data, size_t len, bool seed)
{
	struct fuzz_stats st;

	fuzz_one((const uint8_t *)data, len, &st);
	if (seed && ends_with(name, ".img") && (!st.image || st.err || !st.threads || !st.frames)) {
		fprintf(stderr, "fuzz-replay: %s: %s (error %d, %zu threads, %zu frames)\n", name,
			st.image ? "no longer reads as a Python process" : "not an image", st.err,
			st.threads, st.frames);
		return 1;
	}
	return 0;
}

/* One input through the core reader's target: 1 when it is a seed core that no longer reads. */
static int replay_core(const char *name, const char *data, size_t len, bool seed)
{
	struct fuzz_core_stats st;

	fuzz_core_one((const uint8_t *)data, len, &st);
	if (seed && ends_with(name, ".core") && (st.err || !st.threads || !st.maps || !st.good)) {
		fprintf(stderr, "fuzz-replay: %s: no longer reads as a core (error %d, %zu threads, "
			"%zu maps, %zu of %zu reads)\n", name, st.err, st.threads, st.maps, st.good,
			st.reads);
		return 1;
	}
	return 0;
}

/*
 * Replay every file of dir, through the core reader's target when core;
 * returns how many failed, and counts the inputs in *count.
 */
static int replay_dir(const char *dir, bool core, bool seeds, size_t *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int failed = 0;

	if (!d) {
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "fuzz-replay: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		xgrow(&names, &cap, n + 1, sizeof(*names));
		names[n++] = xasprintf("%s/%s", dir, e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n; i++) {
		char *data;
		size_t len;
		int err = proc_read_file(names[i], &data, &len);

		if (err) {
			fprintf(stderr, "fuzz-replay: %s: %s\n", names[i], strerror(-err));
			failed++;
			free(names[i]);
			continue;
		}
		if (core)
			failed += replay_core(names[i], data, len, seeds);
		else
			failed += replay_image(names[i], data, len, seeds);
		free(data);
		free(names[i]);
	}
	free(names);
	*count += n;
	return failed;
}

/* Replay one file, given on the command line (a crash to reproduce). */
static int replay_file(const char *path, bool core, size_t *count)
{
	char *data;
	size_t len;
	int err = proc_read_file(path, &data, &len);

	if (err) {
		fprintf(stderr, "fuzz-replay: %s: %s\n", path, strerror(-err));
		return 1;
	}
	if (core) {
		struct fuzz_core_stats st;

		fuzz_core_one((const uint8_t *)data, len, &st);
		printf("%s: error %d, %zu threads, %zu maps, %zu of %zu reads\n", path, st.err,
		       st.threads, st.maps, st.good, st.reads);
	} else {
		struct fuzz_stats st;

		fuzz_one((const uint8_t *)data, len, &st);
		printf("%s: %s, error %d, %zu threads, %zu frames, %zu variables, %zu names\n",
		       path, st.image ? "an image" : "not an image", st.err, st.threads, st.frames,
		       st.vars, st.names);
	}
	free(data);
	++*count;
	return 0;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	int failed = 0, first = 1;
	bool core = argc > 1 && !strcmp(argv[1], "--core");

	if (core)
		first = 2;
	if (argc == 1) {
		failed += replay_dir("tests/fuzz/seeds", false, true, &count);
		failed += replay_dir("tests/fuzz/crashes", false, false, &count);
		failed += replay_dir("tests/fuzz/seeds-core", true, true, &count);
		failed += replay_dir("tests/fuzz/crashes-core", true, false, &count);
	}
	for (int i = first; i < argc; i++) {
		DIR *d = opendir(argv[i]);

		if (d) {
			closedir(d);
			failed += replay_dir(argv[i], core, false, &count);
		} else {
			failed += replay_file(argv[i], core, &count);
		}
	}
	printf("fuzz replay: %zu inputs; %zu passed, %d failed\n", count, count - (size_t)failed,
	       failed);
	return failed ? 1 : 0;
}
