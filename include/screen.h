/*
 * The live view of a watch on a terminal: the alternate screen, redrawn in
 * place as top(1) and watch(1) do, and the keys read meanwhile.  The
 * terminal is given back as it was found, also across Ctrl-Z.
 */
#ifndef PYSTACK_SCREEN_H
#define PYSTACK_SCREEN_H

#include <stdbool.h>
#include <stdio.h>

struct screen;

/*
 * Take over the terminal that out writes to.  With keys, also read single
 * key presses from standard input (when it is that terminal, and this
 * process is in the foreground).
 */
struct screen *screen_open(FILE *out, bool keys);

/* Give the terminal back: the normal screen, the cursor, the input modes. */
void screen_close(struct screen *sc);

/* Around a stop of this process (SIGTSTP): give back, then take over again. */
void screen_suspend(struct screen *sc);
void screen_resume(struct screen *sc);

/* Rows and columns now (24 x 80 when the terminal does not say). */
void screen_size(const struct screen *sc, int *rows, int *cols);

/*
 * Draw status on the first row (highlighted) and then the lines of body,
 * as many as fit; every row is cleared to its end, and wrapping is off so
 * a long line is cut at the edge.
 */
void screen_draw(struct screen *sc, const char *status, const char *body);

/* The descriptor to poll for key presses, or -1. */
int screen_key_fd(const struct screen *sc);

/*
 * When the key descriptor polls readable: the key pressed (its byte), or -1
 * (and after a hang-up, no more keys).
 */
int screen_key(struct screen *sc);

#endif
