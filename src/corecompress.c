/*
 * Compressed cores: this module owns telling a compressed file by its
 * first bytes, loading the library that reads its format (libzstd, liblzma,
 * zlib, liblz4, with dlib_load(), so that a missing one matters only for
 * its own format), and streaming it, through two fixed 128 KiB buffers,
 * into an unlinked temporary file that the core reader maps in place of
 * the compressed one.  The core never has to fit in memory: zero blocks
 * are not written but skipped (pwrite past them leaves holes), so the
 * temporary file is as sparse as a core of untouched pages is, and pages
 * reach memory only when the reader touches them.
 *
 * Concatenated frames (zstd, lz4), streams (xz) and members (gzip) are
 * read one after the other, as the programs do.  Every decoder either
 * ends its stream, reports an error, or is seen to stop making progress:
 * corrupt or cut-short input ends with one reason, never a loop.  The
 * formats' documentation: zstd.h and RFC 8878, lzma/base.h and
 * lzma/container.h, zlib.h and RFC 1952, lz4frame.h and lz4's
 * doc/lz4_Frame_format.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <lz4frame.h>
#include <lzma.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "corecompress.h"
#include "dlib.h"
#include "errors.h"
#include "msg.h"

#define BUF_SIZE	(128 * 1024)
#define BLOCK		4096		/* the granule of holes */
#define STALL_MAX	16		/* calls in a row without progress before giving up */
/*
 * liblzma's memory limit: above what the largest dictionary xz writes
 * (1.5 GiB, xz(1)) needs, so it refuses only what no xz made.  libzstd keeps
 * its own default (windows up to 128 MiB, what the zstd program accepts
 * without --long or --memory).
 */
#define XZ_MEMLIMIT	(2ull << 30)

/* One decompression: its two files, how far it got, and where the reason goes. */
struct unpack {
	const char *format;
	int in, out;
	const char *dir;	/* where out is */
	uint64_t insize;	/* of the compressed file */
	uint64_t inpos;		/* compressed bytes read so far */
	uint64_t pos;		/* decompressed bytes so far: the size of out */
	uint64_t data;		/* of those, the bytes written (the rest are holes) */
	uint64_t limit;
	unsigned char *ibuf, *obuf;
	char *detail;
	size_t ndetail;
};

/* n bytes for people: "512 bytes", "3.5 MiB". */
static const char *human(uint64_t n, char *buf, size_t nbuf)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = -1;

	if (n < 1024) {
		snprintf(buf, nbuf, "%llu byte%s", (unsigned long long)n, n == 1 ? "" : "s");
		return buf;
	}
	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	snprintf(buf, nbuf, "%.1f %s", v, unit[u]);
	return buf;
}

/* The data is damaged; left is how much of what was read the decoder had not taken. */
static int corrupt(struct unpack *u, size_t left, const char *why)
{
	char a[32];

	return ps_fail(-PS_E_BAD_CORE, u->detail, u->ndetail,
		       "the %s data is corrupt near byte %llu of %llu (%s decompressed before it): %s",
		       u->format, (unsigned long long)(u->inpos - left),
		       (unsigned long long)u->insize, human(u->pos, a, sizeof(a)), why);
}

static int cut_short(struct unpack *u)
{
	char a[32], b[32];

	return ps_fail(-PS_E_BAD_CORE, u->detail, u->ndetail,
		       "the %s data is cut short: it ends inside a frame after %s of it (%s "
		       "decompressed)", u->format, human(u->inpos, a, sizeof(a)),
		       human(u->pos, b, sizeof(b)));
}

/* The next compressed bytes into ibuf: how many (0 at the end), or an error. */
static ssize_t fill(struct unpack *u)
{
	ssize_t n;

	do
		n = pread(u->in, u->ibuf, BUF_SIZE, (off_t)u->inpos);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return ps_fail(-errno, u->detail, u->ndetail, "cannot read it: %s", strerror(errno));
	u->inpos += (uint64_t)n;
	return n;
}

static bool all_zero(const unsigned char *p, size_t n)
{
	return !n || (p[0] == 0 && !memcmp(p, p + 1, n - 1));
}

static int write_at(struct unpack *u, const unsigned char *p, size_t n, uint64_t at)
{
	char a[32], b[32];

	while (n) {
		ssize_t w = pwrite(u->out, p, n, (off_t)at);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == ENOSPC || errno == EDQUOT))
			return ps_fail(-errno, u->detail, u->ndetail,
				       "no space for the decompressed core in %s: %s after %s written "
				       "(%s decompressed; TMPDIR= can name another directory)", u->dir,
				       strerror(errno), human(u->data, a, sizeof(a)),
				       human(u->pos, b, sizeof(b)));
		if (w <= 0)
			return ps_fail(w < 0 ? -errno : -EIO, u->detail, u->ndetail,
				       "cannot write the decompressed core in %s: %s", u->dir,
				       strerror(w < 0 ? errno : EIO));
		p += w;
		n -= (size_t)w;
		at += (uint64_t)w;
		u->data += (uint64_t)w;
	}
	return 0;
}

/*
 * Decompressed bytes to the end of out: the blocks (aligned in the file)
 * that hold only zeros are skipped, the runs of the others written at once.
 */
static int sink(struct unpack *u, const unsigned char *p, size_t n)
{
	char a[32], b[32];
	int err;

	if (n > u->limit - u->pos)
		return ps_fail(-PS_E_BAD_CORE, u->detail, u->ndetail,
			       "the %s data decompresses to more than %s, more than any core: given "
			       "up after %s of it", u->format, human(u->limit, a, sizeof(a)),
			       human(u->inpos, b, sizeof(b)));
	while (n) {
		size_t len = BLOCK - u->pos % BLOCK;

		if (len > n)
			len = n;
		if (all_zero(p, len)) {
			u->pos += len;
		} else {
			while (len < n) {
				size_t more = n - len < BLOCK ? n - len : BLOCK;

				if (all_zero(p + len, more))
					break;
				len += more;
			}
			err = write_at(u, p, len, u->pos);
			if (err)
				return err;
			u->pos += len;
		}
		p += len;
		n -= len;
	}
	return 0;
}

/* Load a format's library once; -ENOPKG with the package to install when it is not here. */
static int load(struct unpack *u, void **lib, const char *soname, const char *package,
		const struct dlib_sym *syms, size_t n)
{
	const char *const libs[] = { soname, NULL };
	char why[256];

	if (*lib)
		return 0;
	*lib = dlib_load(NULL, libs, syms, n, package, why, sizeof(why));
	if (!*lib)
		return ps_fail(-ENOPKG, u->detail, u->ndetail,
			       "compressed with %s, which no library here reads: %s", u->format, why);
	return 0;
}

static struct {
	void *lib;
	ZSTD_DCtx *(*create)(void);
	size_t (*free)(ZSTD_DCtx *);
	size_t (*stream)(ZSTD_DCtx *, ZSTD_outBuffer *, ZSTD_inBuffer *);
	unsigned (*is_error)(size_t);
	const char *(*error_name)(size_t);
} zstd;

static int unpack_zstd(struct unpack *u)
{
	const struct dlib_sym syms[] = {
		{ "ZSTD_createDCtx", (void **)&zstd.create },
		{ "ZSTD_freeDCtx", (void **)&zstd.free },
		{ "ZSTD_decompressStream", (void **)&zstd.stream },
		{ "ZSTD_isError", (void **)&zstd.is_error },
		{ "ZSTD_getErrorName", (void **)&zstd.error_name },
	};
	ZSTD_inBuffer in = { .src = NULL };
	ZSTD_DCtx *d;
	size_t ret = 1;		/* 0: between frames */
	bool eof = false;
	int err = load(u, &zstd.lib, "libzstd.so.1", "libzstd1", syms, sizeof(syms) / sizeof(syms[0]));
	int stalls = 0;

	if (err)
		return err;
	d = zstd.create();
	if (!d)
		return ps_fail(-ENOMEM, u->detail, u->ndetail, "cannot start decompressing: %s",
			       strerror(ENOMEM));
	for (;;) {
		ZSTD_outBuffer out = { .dst = u->obuf, .size = BUF_SIZE };
		size_t before = in.pos;

		if (in.pos == in.size && !eof) {
			ssize_t n = fill(u);

			if (n < 0) {
				err = (int)n;
				break;
			}
			eof = n == 0;
			in = (ZSTD_inBuffer){ .src = u->ibuf, .size = (size_t)n };
			before = 0;
		}
		if (eof && in.pos == in.size && ret == 0)
			break;		/* every frame whole */
		ret = zstd.stream(d, &out, &in);
		if (zstd.is_error(ret)) {
			err = corrupt(u, in.size - in.pos, zstd.error_name(ret));
			break;
		}
		err = sink(u, u->obuf, out.pos);
		if (err)
			break;
		if (eof && in.pos == in.size && ret == 0)
			break;
		if (in.pos == before && out.pos == 0 && (eof || ++stalls > STALL_MAX)) {
			err = eof ? cut_short(u) : corrupt(u, in.size - in.pos, "it makes no progress");
			break;
		}
		if (in.pos != before || out.pos)
			stalls = 0;
	}
	zstd.free(d);
	return err;
}

static struct {
	void *lib;
	lzma_ret (*decoder)(lzma_stream *, uint64_t, uint32_t);
	lzma_ret (*code)(lzma_stream *, lzma_action);
	void (*end)(lzma_stream *);
} xz;

static const char *lzma_reason(lzma_ret r)
{
	switch (r) {
	case LZMA_FORMAT_ERROR: return "not the xz format";
	case LZMA_OPTIONS_ERROR: return "options this liblzma does not know";
	case LZMA_DATA_ERROR: return "compressed data is corrupt";
	case LZMA_BUF_ERROR: return "compressed data ends unexpectedly";
	case LZMA_UNSUPPORTED_CHECK: return "an integrity check this liblzma does not know";
	default: return "liblzma failed";
	}
}

static int unpack_xz(struct unpack *u)
{
	const struct dlib_sym syms[] = {
		{ "lzma_stream_decoder", (void **)&xz.decoder },
		{ "lzma_code", (void **)&xz.code },
		{ "lzma_end", (void **)&xz.end },
	};
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_action action = LZMA_RUN;
	lzma_ret r;
	char a[32];
	int err = load(u, &xz.lib, "liblzma.so.5", "liblzma5", syms, sizeof(syms) / sizeof(syms[0]));

	if (err)
		return err;
	r = xz.decoder(&s, XZ_MEMLIMIT, LZMA_CONCATENATED);
	if (r != LZMA_OK)
		return ps_fail(-ENOMEM, u->detail, u->ndetail, "cannot start decompressing: %s",
			       strerror(ENOMEM));
	for (;;) {
		if (s.avail_in == 0 && action == LZMA_RUN) {
			ssize_t n = fill(u);

			if (n < 0) {
				err = (int)n;
				break;
			}
			s.next_in = u->ibuf;
			s.avail_in = (size_t)n;
			if (n == 0)
				action = LZMA_FINISH;	/* so that a cut-short stream is an error */
		}
		s.next_out = u->obuf;
		s.avail_out = BUF_SIZE;
		/*
		 * liblzma answers LZMA_BUF_ERROR when a second call in a row
		 * can make no progress, so this loop always ends.
		 */
		r = xz.code(&s, action);
		err = sink(u, u->obuf, BUF_SIZE - s.avail_out);
		if (err || r == LZMA_STREAM_END)
			break;
		if (r == LZMA_OK)
			continue;
		if (r == LZMA_BUF_ERROR && action == LZMA_FINISH)
			err = cut_short(u);
		else if (r == LZMA_MEMLIMIT_ERROR)
			err = ps_fail(-PS_E_BAD_CORE, u->detail, u->ndetail,
				      "the xz data needs more than %s of memory to decompress, more than "
				      "xz ever asks", human(XZ_MEMLIMIT, a, sizeof(a)));
		else if (r == LZMA_MEM_ERROR)
			err = ps_fail(-ENOMEM, u->detail, u->ndetail, "cannot decompress it: %s",
				      strerror(ENOMEM));
		else
			err = corrupt(u, s.avail_in, lzma_reason(r));
		break;
	}
	xz.end(&s);
	return err;
}

static struct {
	void *lib;
	int (*init)(z_stream *, int, const char *, int);
	int (*inflate)(z_stream *, int);
	int (*reset)(z_stream *);
	int (*end)(z_stream *);
} zlib;

static int unpack_gzip(struct unpack *u)
{
	/* inflateInit2() is a macro over inflateInit2_, which checks the header's version. */
	const struct dlib_sym syms[] = {
		{ "inflateInit2_", (void **)&zlib.init },
		{ "inflate", (void **)&zlib.inflate },
		{ "inflateReset", (void **)&zlib.reset },
		{ "inflateEnd", (void **)&zlib.end },
	};
	z_stream z = { .next_in = NULL };
	bool eof = false, between = false;	/* between: at the end of a member */
	int err = load(u, &zlib.lib, "libz.so.1", "zlib1g", syms, sizeof(syms) / sizeof(syms[0]));
	int stalls = 0;

	if (err)
		return err;
	/* 16 + 15: a gzip header and trailer around deflate data with a 32 KiB window. */
	if (zlib.init(&z, 16 + MAX_WBITS, ZLIB_VERSION, (int)sizeof(z)) != Z_OK)
		return ps_fail(-ENOMEM, u->detail, u->ndetail, "cannot start decompressing: %s",
			       strerror(ENOMEM));
	for (;;) {
		uInt in_before;
		int r;

		if (z.avail_in == 0 && !eof) {
			ssize_t n = fill(u);

			if (n < 0) {
				err = (int)n;
				break;
			}
			eof = n == 0;
			z.next_in = u->ibuf;
			z.avail_in = (uInt)n;
		}
		if (between) {
			if (z.avail_in == 0)
				break;		/* every member whole */
			zlib.reset(&z);		/* another member follows */
			between = false;
		}
		z.next_out = u->obuf;
		z.avail_out = BUF_SIZE;
		in_before = z.avail_in;
		r = zlib.inflate(&z, Z_NO_FLUSH);
		err = sink(u, u->obuf, BUF_SIZE - z.avail_out);
		if (err)
			break;
		if (r == Z_STREAM_END) {
			between = true;
			continue;
		}
		if (r == Z_OK || r == Z_BUF_ERROR) {
			bool progress = z.avail_in != in_before || z.avail_out != BUF_SIZE;

			if (progress) {
				stalls = 0;
				continue;
			}
			if (eof && z.avail_in == 0) {
				err = cut_short(u);
				break;
			}
			if (z.avail_in == 0 || ++stalls <= STALL_MAX)
				continue;
			err = corrupt(u, z.avail_in, "it makes no progress");
			break;
		}
		if (r == Z_MEM_ERROR)
			err = ps_fail(-ENOMEM, u->detail, u->ndetail, "cannot decompress it: %s",
				      strerror(ENOMEM));
		else
			err = corrupt(u, z.avail_in, r == Z_NEED_DICT ? "it needs a preset dictionary"
				      : z.msg ? z.msg : "zlib failed");
		break;
	}
	zlib.end(&z);
	return err;
}

static struct {
	void *lib;
	LZ4F_errorCode_t (*create)(LZ4F_dctx **, unsigned);
	LZ4F_errorCode_t (*free)(LZ4F_dctx *);
	size_t (*decompress)(LZ4F_dctx *, void *, size_t *, const void *, size_t *,
			     const LZ4F_decompressOptions_t *);
	unsigned (*is_error)(LZ4F_errorCode_t);
	const char *(*error_name)(LZ4F_errorCode_t);
} lz4;

static int unpack_lz4(struct unpack *u)
{
	const struct dlib_sym syms[] = {
		{ "LZ4F_createDecompressionContext", (void **)&lz4.create },
		{ "LZ4F_freeDecompressionContext", (void **)&lz4.free },
		{ "LZ4F_decompress", (void **)&lz4.decompress },
		{ "LZ4F_isError", (void **)&lz4.is_error },
		{ "LZ4F_getErrorName", (void **)&lz4.error_name },
	};
	const unsigned char *src = NULL;
	size_t avail = 0, ret = 1;	/* ret 0: between frames */
	LZ4F_dctx *d;
	bool eof = false;
	int err = load(u, &lz4.lib, "liblz4.so.1", "liblz4-1", syms, sizeof(syms) / sizeof(syms[0]));
	int stalls = 0;

	if (err)
		return err;
	if (lz4.is_error(lz4.create(&d, LZ4F_VERSION)))
		return ps_fail(-ENOMEM, u->detail, u->ndetail, "cannot start decompressing: %s",
			       strerror(ENOMEM));
	for (;;) {
		size_t took, made = BUF_SIZE;

		if (avail == 0 && !eof) {
			ssize_t n = fill(u);

			if (n < 0) {
				err = (int)n;
				break;
			}
			eof = n == 0;
			src = u->ibuf;
			avail = (size_t)n;
		}
		if (eof && avail == 0 && ret == 0)
			break;		/* every frame whole */
		took = avail;
		ret = lz4.decompress(d, u->obuf, &made, src, &took, NULL);
		if (lz4.is_error(ret)) {
			err = corrupt(u, avail - took, lz4.error_name(ret));
			break;
		}
		src += took;
		avail -= took;
		err = sink(u, u->obuf, made);
		if (err)
			break;
		if (eof && avail == 0 && ret == 0)
			break;
		if (!took && !made && (eof || ++stalls > STALL_MAX)) {
			err = eof ? cut_short(u) : corrupt(u, avail, "it makes no progress");
			break;
		}
		if (took || made)
			stalls = 0;
	}
	lz4.free(d);
	return err;
}

/* What the first bytes of a file can say. */
struct format {
	const char *name;
	const unsigned char *magic;
	size_t nmagic;
	int (*unpack)(struct unpack *u);	/* NULL: known, not read */
	const char *instead;			/* then what to run instead */
};

static const struct format formats[] = {
	{ "zstd", (const unsigned char *)"\x28\xb5\x2f\xfd", 4, unpack_zstd, NULL },
	{ "xz", (const unsigned char *)"\xfd" "7zXZ\0", 6, unpack_xz, NULL },
	{ "gzip", (const unsigned char *)"\x1f\x8b", 2, unpack_gzip, NULL },
	{ "lz4", (const unsigned char *)"\x04\x22\x4d\x18", 4, unpack_lz4, NULL },
	{ "lz4's legacy format", (const unsigned char *)"\x02\x21\x4c\x18", 4, NULL, "lz4 -d" },
	{ "bzip2", (const unsigned char *)"BZh", 3, NULL, "bunzip2 -k" },
	{ "lzip", (const unsigned char *)"LZIP", 4, NULL, "lzip -dk" },
	{ "compress (.Z)", (const unsigned char *)"\x1f\x9d", 2, NULL, "uncompress" },
};

/*
 * The format of the file on fd, NULL when it is none of these (an ELF core,
 * or anything else, is the core reader's to judge).  zstd and lz4 frames may
 * be preceded by skippable frames (magic 0x184D2A5?, a 32-bit size, that
 * many bytes), which both share: look past them.
 */
static const struct format *detect(int fd)
{
	unsigned char head[8];
	uint64_t at = 0;

	for (int skipped = 0; skipped <= 16; skipped++) {
		ssize_t n = pread(fd, head, sizeof(head), (off_t)at);

		if (n < 4)
			return skipped ? &formats[0] : NULL;
		if ((head[0] & 0xf0) == 0x50 && !memcmp(head + 1, "\x2a\x4d\x18", 3)) {
			if (n < 8)
				return &formats[0];
			at += 8 + (head[4] | head[5] << 8 | head[6] << 16 | (uint64_t)head[7] << 24);
			continue;
		}
		for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
			if ((size_t)n >= formats[i].nmagic &&
			    !memcmp(head, formats[i].magic, formats[i].nmagic))
				return &formats[i];
		}
		/* Skippable frames before something else: libzstd will say what. */
		return skipped ? &formats[0] : NULL;
	}
	return &formats[0];
}

/* A file made with mkstemp in dir and unlinked at once: its descriptor, or -1 with errno set. */
static int make_named(const char *dir)
{
	char *name = xasprintf("%s/pystack-core-XXXXXX", dir);
	int fd = mkostemp(name, O_CLOEXEC), e;

	if (fd >= 0 && unlink(name) < 0) {
		e = errno;
		close(fd);
		fd = -1;
		errno = e;
	}
	e = errno;
	free(name);
	errno = e;
	return fd;
}

/*
 * An unlinked file to decompress into: O_TMPFILE, or where the file system
 * has none, mkstemp and unlink at once; so nothing is left behind, however
 * pystack ends.  /var/tmp before /tmp: /tmp is often a tmpfs, in memory.
 * With none of them (a container or chroot holding only pystack), a memfd:
 * in memory too, and as sparse.
 */
static int make_tmpfile(const char **dir, char *detail, size_t ndetail)
{
	const char *env = getenv("TMPDIR");
	const char *const dirs[] = { env && *env ? env : NULL, "/var/tmp", "/tmp" };
	int first = 0;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		int fd;

		if (!dirs[i])
			continue;
		fd = open(dirs[i], O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL))
			fd = make_named(dirs[i]);
		if (fd >= 0) {
			*dir = dirs[i];
			return fd;
		}
		if (!first)
			first = -errno;
	}
	if (first == -ENOENT) {
		int fd = memfd_create("pystack-core", MFD_CLOEXEC);

		if (fd >= 0) {
			*dir = "memory (no $TMPDIR, /var/tmp or /tmp here)";
			return fd;
		}
	}
	return ps_fail(first, detail, ndetail, "cannot make a temporary file for the decompressed "
		       "core (in $TMPDIR, /var/tmp or /tmp): %s", strerror(-first));
}

int corecompress_unpack(const char *path, int *fd, struct stat *st, uint64_t limit,
			char *detail, size_t ndetail)
{
	const struct format *f = detect(*fd);
	struct unpack u = {
		.in = *fd,
		.insize = (uint64_t)st->st_size,
		.limit = limit,
		.detail = detail,
		.ndetail = ndetail,
	};
	struct timespec t0, t1;
	struct stat nst;
	char a[32], b[32], c[32];
	int err;

	if (!f)
		return 0;
	u.format = f->name;
	if (!f->unpack)
		return ps_fail(-EOPNOTSUPP, detail, ndetail, "compressed with %s, which pystack does "
			       "not read: decompress it first (%s)", f->name, f->instead);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	u.out = make_tmpfile(&u.dir, detail, ndetail);
	if (u.out < 0)
		return u.out;
	u.ibuf = xmalloc(BUF_SIZE);
	u.obuf = xmalloc(BUF_SIZE);
	err = f->unpack(&u);
	free(u.ibuf);
	free(u.obuf);
	/* The zero blocks at the end were never written: the size says they are there. */
	if (!err && ftruncate(u.out, (off_t)u.pos) < 0)
		err = ps_fail(-errno, detail, ndetail, "cannot size the decompressed core in %s: %s",
			      u.dir, strerror(errno));
	if (!err && fstat(u.out, &nst) < 0)
		err = ps_fail(-errno, detail, ndetail, "cannot stat the decompressed core: %s",
			      strerror(errno));
	if (err) {
		close(u.out);
		return err;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	debug_msg("%s: %s-compressed (%s): decompressed to %s (%s of data, the rest holes) in "
		  "an unlinked file in %s in %.3f s", path, f->name, human(u.insize, a, sizeof(a)),
		  human(u.pos, b, sizeof(b)), human(u.data, c, sizeof(c)), u.dir,
		  (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	close(*fd);
	*fd = u.out;
	*st = nst;
	return 0;
}
