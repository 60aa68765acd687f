/*
 * Native symbols: from an instruction address to the function, its module
 * and offset, and (where debug information exists, in the file or in a
 * separate debug file under /usr/lib/debug) the source line and the chain
 * of inlined calls.  libdw does the reading; modules are reported from the
 * maps pystack already parsed, through /proc/PID/root (or rebuilt from
 * memory when the file is gone).  Results are cached by address for the
 * life of the symbolizer, which a session keeps across snapshots.
 */
#ifndef PYSTACK_SYMBOLIZE_H
#define PYSTACK_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct maps;
struct rmem;
struct symbolizer;

struct native_sym {
	const char *function;	/* demangled; NULL when unknown */
	uint64_t offset;	/* from the function's start (0 for inlined frames) */
	const char *module;	/* the mapped file, NULL when none */
	const char *file;	/* source file, NULL without debug information */
	int line;		/* 0 when unknown */
	bool inlined;		/* a call inlined into the frame after it */
};

/*
 * A symbolizer for process pid.  Returns 0, or a negative error with why
 * filled in (libdw missing).  maps and mem must outlive it.
 */
int symbolizer_new(pid_t pid, const struct maps *maps, struct rmem *mem, struct symbolizer **out,
		   char *why, size_t nwhy);
void symbolizer_free(struct symbolizer *s);

/*
 * The frames at address ip, innermost (most inlined) first; exact says ip
 * is where the thread is now, not a return address.  Returns how many
 * (at least 1); *out is owned by the symbolizer.
 */
size_t symbolizer_lookup(struct symbolizer *s, uint64_t ip, bool exact,
			 const struct native_sym **out);

#endif
