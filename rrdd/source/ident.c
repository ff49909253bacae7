/*
 * Identities shared by both backends: the wire-format.md §1.1 rules that turn a Xen
 * domain handle into the VM uuid the daemon files samples under (xcp-rrdd's
 * xenctrl_lib.ml domain_snapshot: helper domains skipped, xenopsd migration
 * temporaries redirected through xenstore), and VBD device numbers to the
 * names xcp-rrdd uses (xvda, hdb, sdc).  Pure: xenstore reads are the
 * caller's.
 */
#include "source/source.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const skip_prefixes[] = {"00000000-0000-0000", "deadbeef-dead-beef"};

enum src_uuid_kind src_uuid_classify(const uint8_t h[16], char raw[SRC_UUID_LEN + 1])
{
	/* 8-4-4-4-12 lower-case hex, as "%02x..." would print it (this runs for
	 * every domain every tick: no snprintf) */
	static const char hex[] = "0123456789abcdef";
	char *o = raw;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*o++ = '-';
		*o++ = hex[h[i] >> 4];
		*o++ = hex[h[i] & 15];
	}
	*o = '\0';
	for (size_t i = 0; i < sizeof(skip_prefixes) / sizeof(skip_prefixes[0]); i++)
		if (strncmp(raw, skip_prefixes[i], 18) == 0)
			return SRC_UUID_SKIP;
	if (strcmp(raw + 24, "000000000000") == 0)
		return SRC_UUID_ORIGIN;
	if (strcmp(raw + 24, "000000000001") == 0)
		return SRC_UUID_FINAL;
	return SRC_UUID_PLAIN;
}

int src_uuid_xs_path(enum src_uuid_kind kind, const char *raw, char *buf, size_t len)
{
	const char *key;
	switch (kind) {
	case SRC_UUID_ORIGIN:
		key = "origin-uuid";
		break;
	case SRC_UUID_FINAL:
		key = "final-uuid";
		break;
	default:
		return -EINVAL;
	}
	int n = snprintf(buf, len, "/vm/%s/%s", raw, key);
	return n < 0 || (size_t)n >= len ? -EINVAL : 0;
}

static int is_uuid_text(const char *s)
{
	for (int i = 0; i < SRC_UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i])) {
			return 0;
		}
	}
	return 1;
}

int src_uuid_accept(const char *val, size_t len, char out[SRC_UUID_LEN + 1])
{
	if (!val)
		return -EINVAL;
	while (len > 0 && isspace((unsigned char)*val)) {
		val++;
		len--;
	}
	while (len > 0 && (isspace((unsigned char)val[len - 1]) || val[len - 1] == '\0'))
		len--;
	if (len != SRC_UUID_LEN || !is_uuid_text(val))
		return -EINVAL;
	for (int i = 0; i < SRC_UUID_LEN; i++)
		out[i] = (char)tolower((unsigned char)val[i]);
	out[SRC_UUID_LEN] = '\0';
	return 0;
}

int src_uuid_parse(const char *s, uint8_t h[16])
{
	if (!s || strlen(s) != SRC_UUID_LEN || !is_uuid_text(s))
		return -EINVAL;
	for (int i = 0, j = 0; i < 16; i++) {
		if (s[j] == '-')
			j++;
		unsigned v;
		if (sscanf(s + j, "%2x", &v) != 1)
			return -EINVAL;
		h[i] = (uint8_t)v;
		j += 2;
	}
	return 0;
}

/* Linux-style disk letters: 0 -> a, 25 -> z, 26 -> aa, 701 -> zz, ... */
static int disk_letters(uint32_t disk, char *buf, size_t len)
{
	char tmp[8];
	int n = 0;
	uint64_t d = (uint64_t)disk + 1;
	while (d > 0 && n < (int)sizeof(tmp)) {
		d--;
		tmp[n++] = (char)('a' + d % 26);
		d /= 26;
	}
	if ((size_t)n + 1 > len)
		return -EINVAL;
	for (int i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
	return n;
}

int src_vbd_name(uint32_t devid, char *buf, size_t len)
{
	const char *prefix;
	uint32_t disk, part;
	uint32_t major = (devid >> 8) & 0xfff, minor = devid & 0xff;

	if (devid & (1u << 28)) { /* extended xvd scheme */
		prefix = "xvd";
		disk = (devid >> 8) & 0xfffff;
		part = devid & 0xff;
	} else if (devid >= (1u << 16)) {
		return -EINVAL;
	} else if (major == 202) {
		prefix = "xvd";
		disk = minor >> 4;
		part = minor & 15;
	} else if (major == 3 || major == 22) {
		prefix = "hd";
		disk = (minor >> 6) + (major == 22 ? 2 : 0);
		part = minor & 63;
	} else if (major == 8) {
		prefix = "sd";
		disk = minor >> 4;
		part = minor & 15;
	} else if (major >= 65 && major <= 71) {
		prefix = "sd";
		disk = 16 * (major - 64) + (minor >> 4);
		part = minor & 15;
	} else {
		return -EINVAL;
	}
	char letters[8];
	if (disk_letters(disk, letters, sizeof(letters)) < 0)
		return -EINVAL;
	int n = part ? snprintf(buf, len, "%s%s%u", prefix, letters, part)
	             : snprintf(buf, len, "%s%s", prefix, letters);
	return n < 0 || (size_t)n >= len ? -EINVAL : 0;
}
