/*
 * Folded stacks, the format flame graph tools read (flamegraph.pl, inferno,
 * speedscope): one line per distinct stack, "process;thread;outer;...;inner
 * count".  A Python frame reads "function (file:line)", a native one
 * "function [module]".  Names are escaped as for a terminal (escape.h), so a
 * line is printable UTF-8, and a ';' in a name becomes ':', so every line
 * parses.  An aggregator sums the stacks of many snapshots.
 */
#ifndef PYSTACK_FOLDED_H
#define PYSTACK_FOLDED_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct snapshot;
struct thread;
struct folded;

/* The folded stack of thread t of snapshot s, without the count; malloc'd. */
char *folded_stack(const struct snapshot *s, const struct thread *t);

struct folded *folded_new(void);
void folded_free(struct folded *f);

/* Count every thread of s once. */
void folded_add_snapshot(struct folded *f, const struct snapshot *s);

/* How many distinct stacks. */
size_t folded_count(const struct folded *f);

/* Write every stack with its count, sorted by stack. */
void folded_write(struct folded *f, FILE *out);

struct folded_entry {
	const char *stack;
	uint64_t count;
};

/* The entries, sorted by stack; valid until the next change to f. */
const struct folded_entry *folded_entries(struct folded *f, size_t *n);

#endif
