/*
 * The live view's terminal handling (see screen.h): escape sequences for
 * the alternate screen, cursor and wrapping, and a non-canonical input mode
 * that still lets Ctrl-C and Ctrl-Z send their signals.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "msg.h"
#include "screen.h"

#define ENTER	"\033[?1049h\033[?25l\033[?7l"	/* alternate screen, no cursor, no wrap */
#define LEAVE	"\033[?7h\033[?25h\033[?1049l"
#define HOME	"\033[H"
#define CLEAR_EOL "\033[K"
#define CLEAR_EOS "\033[J"
#define INVERSE	"\033[7m"
#define RESET	"\033[0m"

struct screen {
	FILE *out;
	int keys;		/* standard input, in the mode below, or -1 */
	struct termios saved;
};

static void take_over(struct screen *sc)
{
	if (sc->keys >= 0) {
		struct termios t = sc->saved;

		/* Keys arrive one by one, unechoed; ISIG stays, for Ctrl-C and Ctrl-Z. */
		t.c_lflag &= (tcflag_t)~(ICANON | ECHO);
		t.c_cc[VMIN] = 0;
		t.c_cc[VTIME] = 0;
		if (tcsetattr(sc->keys, TCSANOW, &t))
			sc->keys = -1;
	}
	fputs(ENTER, sc->out);
	fflush(sc->out);
}

static void give_back(struct screen *sc)
{
	fputs(RESET LEAVE, sc->out);
	fflush(sc->out);
	if (sc->keys >= 0)
		tcsetattr(sc->keys, TCSANOW, &sc->saved);
}

struct screen *screen_open(FILE *out, bool keys)
{
	struct screen *sc = xcalloc(1, sizeof(*sc));

	sc->out = out;
	sc->keys = -1;
	/* A background job must not touch the terminal's modes. */
	if (keys && isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp() &&
	    tcgetattr(STDIN_FILENO, &sc->saved) == 0)
		sc->keys = STDIN_FILENO;
	take_over(sc);
	return sc;
}

void screen_close(struct screen *sc)
{
	if (!sc)
		return;
	give_back(sc);
	free(sc);
}

void screen_suspend(struct screen *sc)
{
	give_back(sc);
}

void screen_resume(struct screen *sc)
{
	take_over(sc);
}

void screen_size(const struct screen *sc, int *rows, int *cols)
{
	struct winsize ws;

	*rows = 24;
	*cols = 80;
	if (ioctl(fileno(sc->out), TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
		*rows = ws.ws_row;
		*cols = ws.ws_col;
	}
}

void screen_draw(struct screen *sc, const char *status, const char *body)
{
	int rows, cols, row = 1;

	screen_size(sc, &rows, &cols);
	fputs(HOME INVERSE, sc->out);
	fprintf(sc->out, "%-*.*s", cols, cols, status);
	fputs(RESET CLEAR_EOL, sc->out);
	/* No newline after the last row: it would scroll the screen. */
	for (const char *p = body; *p && row < rows; row++) {
		size_t len = strcspn(p, "\n");

		fputs("\r\n", sc->out);
		fwrite(p, 1, len, sc->out);
		fputs(RESET CLEAR_EOL, sc->out);
		p += len + (p[len] == '\n');
	}
	fputs(CLEAR_EOS, sc->out);
	fflush(sc->out);
}

int screen_key_fd(const struct screen *sc)
{
	return sc->keys;
}

int screen_key(struct screen *sc)
{
	unsigned char c;
	ssize_t n;

	if (sc->keys < 0)
		return -1;
	n = read(sc->keys, &c, 1);
	if (n == 1)
		return c;
	/* Readable, yet nothing to read: the terminal hung up. */
	if (n == 0 || (errno != EINTR && errno != EAGAIN))
		sc->keys = -1;
	return -1;
}
