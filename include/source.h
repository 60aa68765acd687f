/*
 * Source lines for Python frames, read from the files the target ran,
 * through /proc/PID/root (or /proc/PID/cwd for relative names) so a target
 * in another mount namespace shows its own files.  Files are read once per
 * cache and never executed.
 */
#ifndef PYSTACK_SOURCE_H
#define PYSTACK_SOURCE_H

#include <sys/types.h>

struct snapshot;
struct source_cache;

struct source_cache *source_cache_new(pid_t pid);
void source_cache_free(struct source_cache *c);

/* Set frame->source for every Python frame whose line can be read. */
void source_annotate(struct source_cache *c, struct snapshot *snap);

#endif
