/*
 * A function built without unwind tables (-fno-asynchronous-unwind-tables
 * -fno-unwind-tables), as hand-written assembly is, that blocks in libc.
 * It is built keeping a frame pointer and without one; NAME names it.
 * With CALLER, it is called by another such function of that name.  The
 * stores after the calls keep the calls from becoming jumps.
 */
#include <unistd.h>

volatile int pystack_test_woken;

__attribute__((noinline)) void NAME(void)
{
	sleep(100000);
	pystack_test_woken = 1;
}

#ifdef CALLER
void CALLER(void)
{
	NAME();
	pystack_test_woken = 2;
}
#endif
