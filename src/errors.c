/*
 * Descriptions of pystack's error codes (see errors.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"

const char *ps_strerror(int err)
{
	static const char *const text[] = {
#define PS_ERROR(name, str) [PS_E_##name - PS_E_BASE] = str,
		PS_ERRORS
#undef PS_ERROR
	};
	int code = -err;

	if (code > PS_E_BASE && code - PS_E_BASE < (int)(sizeof(text) / sizeof(text[0])))
		return text[code - PS_E_BASE];
	return strerror(code);
}

int ps_fail(int err, char *detail, size_t ndetail, const char *fmt, ...)
{
	va_list ap;

	if (detail && ndetail) {
		va_start(ap, fmt);
		vsnprintf(detail, ndetail, fmt, ap);
		va_end(ap);
	}
	return err;
}
