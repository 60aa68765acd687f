/*
 * A function built without unwind tables (-fno-asynchronous-unwind-tables
 * -fno-unwind-tables), as hand-written assembly is, that blocks in libc.
 * It is built twice: keeping a frame pointer, and without one; NAME
 * names it.  The store after the call keeps the call from becoming a jump.
 */
#include <unistd.h>

volatile int pystack_test_woken;

void NAME(void)
{
	sleep(100000);
	pystack_test_woken = 1;
}
