/*
 * Unit tests: compressed cores (corecompress.c) over small files made by
 * the zstd, xz, gzip and lz4 programs (compressed_blobs.h, written by
 * gen_compressed.py): each decompresses to the payload, sparse, one frame
 * or two; cut short and damaged (at every place near the headers and
 * trailers, at one in five between), each ends with one reason and no
 * crash; past the limit it is refused; a format known but not read, and a
 * file that is not compressed at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compressed_blobs.h"
#include "corecompress.h"
#include "errors.h"
#include "msg.h"
#include "unit.h"

struct blob {
	const char *name;
	const unsigned char *one, *two;
	size_t none, ntwo;
};

#define BLOB(n) { #n, n##_one, n##_two, sizeof(n##_one), sizeof(n##_two) }

static const struct blob blobs[] = { BLOB(zstd), BLOB(xz), BLOB(gzip), BLOB(lz4) };

/* An unlinked file holding p[0, n), open for reading. */
static int file_of(const void *p, size_t n)
{
	char name[] = "/tmp/pystack-unit-XXXXXX";
	int fd = mkstemp(name);

	if (fd < 0) {
		perror("mkstemp");
		abort();
	}
	unlink(name);
	if (write(fd, p, n) != (ssize_t)n) {
		perror("write");
		abort();
	}
	return fd;
}

/* Unpack p[0, n) as corefile_open would; *fd is the result (the caller closes it). */
static int unpack(const void *p, size_t n, uint64_t limit, int *fd, struct stat *st,
		  char *detail, size_t ndetail)
{
	*fd = file_of(p, n);
	if (fstat(*fd, st) < 0)
		abort();
	return corecompress_unpack("unit", fd, st, limit, detail, ndetail);
}

static unsigned char expected(size_t i)
{
	static const char head[] = "pystack corecompress test\n";

	if (i < sizeof(head) - 1)
		return (unsigned char)head[i];
	if (i >= PAYLOAD_DATA_AT && i < PAYLOAD_DATA_AT + PAYLOAD_DATA_LEN)
		return (unsigned char)((i - PAYLOAD_DATA_AT) % 251 + 1);
	return 0;
}

static bool is_payload(int fd)
{
	unsigned char *buf = xmalloc(PAYLOAD_SIZE + 1);
	ssize_t n = pread(fd, buf, PAYLOAD_SIZE + 1, 0);
	bool ok = n == PAYLOAD_SIZE;

	for (size_t i = 0; ok && i < PAYLOAD_SIZE; i++)
		ok = buf[i] == expected(i);
	free(buf);
	return ok;
}

static void test_each_format_decompresses_sparse(void)
{
	for (size_t b = 0; b < sizeof(blobs) / sizeof(blobs[0]); b++) {
		for (int two = 0; two < 2; two++) {
			char detail[256] = "";
			struct stat st;
			int fd, err;

			err = unpack(two ? blobs[b].two : blobs[b].one,
				     two ? blobs[b].ntwo : blobs[b].none, CORECOMPRESS_MAX, &fd, &st,
				     detail, sizeof(detail));
			CHECK_INT(err, 0);
			if (err) {
				fprintf(stderr, "%s%s: %s\n", blobs[b].name, two ? " (two)" : "",
					detail);
				close(fd);
				continue;
			}
			CHECK_INT(st.st_size, PAYLOAD_SIZE);
			CHECK(is_payload(fd));
			/* 12 KiB of data or so; the rest of the 390 KiB are holes. */
			CHECK((long long)st.st_blocks * 512 < 64 * 1024);
			/* A read-write, close-on-exec file, as O_TMPFILE makes it. */
			CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
			CHECK_INT(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
			close(fd);
		}
	}
}

/* Every place near the headers and trailers (the first and last 64 bytes), every 5th between. */
static bool sampled(size_t i, size_t n)
{
	return i < 64 || i + 64 >= n || i % 5 == 0;
}

static void test_cut_short_anywhere(void)
{
	for (size_t b = 0; b < sizeof(blobs) / sizeof(blobs[0]); b++) {
		for (size_t len = 0; len < blobs[b].none; len++) {
			char detail[256] = "";
			struct stat st;
			int fd, err;

			if (!sampled(len, blobs[b].none))
				continue;
			err = unpack(blobs[b].one, len, CORECOMPRESS_MAX, &fd, &st, detail,
				     sizeof(detail));
			close(fd);
			if (!err) {
				/* Too short to tell: left to the core reader as it is. */
				CHECK(len < 6);
				CHECK(!detail[0]);
				continue;
			}
			CHECK_INT(err, -PS_E_BAD_CORE);
			CHECK(strstr(detail, blobs[b].name) != NULL);
			CHECK(strstr(detail, "cut short") || strstr(detail, "corrupt"));
			CHECK(!strchr(detail, '\n'));
			if (err != -PS_E_BAD_CORE || !strstr(detail, blobs[b].name))
				fprintf(stderr, "%s cut at %zu: %d %s\n", blobs[b].name, len, err,
					detail);
		}
	}
}

static void test_damaged_anywhere(void)
{
	for (size_t b = 0; b < sizeof(blobs) / sizeof(blobs[0]); b++) {
		unsigned char *copy = xmalloc(blobs[b].ntwo);

		for (size_t i = 0; i < blobs[b].ntwo; i++) {
			char detail[256] = "";
			struct stat st;
			int fd, err;

			if (!sampled(i, blobs[b].ntwo))
				continue;
			memcpy(copy, blobs[b].two, blobs[b].ntwo);
			copy[i] ^= 0x55;
			err = unpack(copy, blobs[b].ntwo, CORECOMPRESS_MAX, &fd, &st, detail,
				     sizeof(detail));
			close(fd);
			/*
			 * Some bytes are checked by nothing (gzip's time and
			 * OS, a frame's flags that only drop a checksum):
			 * anything but a crash or a hang will do, with a
			 * reason for a failure.
			 */
			CHECK(err == 0 || err == -PS_E_BAD_CORE || err == -EOPNOTSUPP);
			CHECK(err == 0 || (detail[0] && !strchr(detail, '\n')));
		}
		free(copy);
	}
}

static void test_past_the_limit_is_refused(void)
{
	for (size_t b = 0; b < sizeof(blobs) / sizeof(blobs[0]); b++) {
		char detail[256] = "";
		struct stat st;
		int fd, err;

		err = unpack(blobs[b].one, blobs[b].none, PAYLOAD_SIZE - 1, &fd, &st, detail,
			     sizeof(detail));
		close(fd);
		CHECK_INT(err, -PS_E_BAD_CORE);
		CHECK(strstr(detail, "decompresses to more than") != NULL);
		/* Exactly the limit is not past it. */
		err = unpack(blobs[b].one, blobs[b].none, PAYLOAD_SIZE, &fd, &st, detail,
			     sizeof(detail));
		close(fd);
		CHECK_INT(err, 0);
	}
}

static void test_known_formats_not_read_and_not_compressed(void)
{
	static const unsigned char bzip2[] = "BZh91AY&SY\x01\x02\x03\x04";
	static const unsigned char elf[] = "\x7f" "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0";
	char detail[256] = "";
	struct stat st;
	int fd, orig, err;

	err = unpack(bzip2, sizeof(bzip2), CORECOMPRESS_MAX, &fd, &st, detail, sizeof(detail));
	close(fd);
	CHECK_INT(err, -EOPNOTSUPP);
	CHECK_STR(detail, "compressed with bzip2, which pystack does not read: decompress it "
		  "first (bunzip2 -k)");
	detail[0] = '\0';
	err = unpack(elf, sizeof(elf), CORECOMPRESS_MAX, &fd, &st, detail, sizeof(detail));
	orig = fd;
	CHECK_INT(err, 0);
	CHECK_INT(fd, orig);
	CHECK_INT(st.st_size, sizeof(elf));
	CHECK(!detail[0]);
	close(fd);
	/* zstd behind a skippable frame (magic 0x184D2A50, 4 bytes of it). */
	{
		unsigned char *p = xmalloc(12 + sizeof(zstd_one));

		memcpy(p, "\x50\x2a\x4d\x18\x04\0\0\0abcd", 12);
		memcpy(p + 12, zstd_one, sizeof(zstd_one));
		err = unpack(p, 12 + sizeof(zstd_one), CORECOMPRESS_MAX, &fd, &st, detail,
			     sizeof(detail));
		CHECK_INT(err, 0);
		CHECK(!err && is_payload(fd));
		close(fd);
		free(p);
	}
}

const struct unit_test corecompress_tests[] = {
	{ "corecompress_formats", test_each_format_decompresses_sparse },
	{ "corecompress_cut_short", test_cut_short_anywhere },
	{ "corecompress_damaged", test_damaged_anywhere },
	{ "corecompress_limit", test_past_the_limit_is_refused },
	{ "corecompress_other", test_known_formats_not_read_and_not_compressed },
	{ NULL, NULL },
};
