/* net.c - cidrsubnet, cidrhost, cidrnetmask.
 *
 * Addresses are parsed as Terraform parses them (its fork of Go 1.16's
 * net package): decimal IPv4 octets may carry leading zeros, IPv6 may end
 * in a dotted IPv4 part, and host bits set in the prefix are masked off.
 * Arithmetic is on 128 bits; IPv4 uses the low 32.
 *
 * Deliberate departures, where Terraform returns nonsense rather than an
 * error: a negative newbits and a negative netnum are errors, and an
 * IPv4-mapped IPv6 address stays IPv6 (printed in hex groups). */
#include "builtins.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

__extension__ typedef unsigned __int128 u128;

struct cidr {
	u128 addr;		/* network address, host bits cleared */
	int plen;		/* prefix length */
	int bits;		/* 32 or 128 */
};

enum { BIG = 0xFFFFFF };	/* Go's dtoi/xtoi stop here */

/* ---- parsing ---- */

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Reads digits in base 10 or 16 at s; returns how many, 0 on none or
 * overflow past BIG (as Go's dtoi/xtoi). */
static size_t read_number(const char *s, size_t len, int base, unsigned *out)
{
	unsigned n = 0;
	size_t i = 0;
	for (; i < len; i++) {
		int d = hexval(s[i]);
		if (d < 0 || d >= base)
			break;
		n = n * (unsigned)base + (unsigned)d;
		if (n >= BIG)
			return 0;
	}
	*out = n;
	return i;
}

static int parse_ipv4(const char *s, size_t len, uint8_t out[4])
{
	size_t pos = 0;
	for (int j = 0; j < 4; j++) {
		if (j > 0 && (pos >= len || s[pos++] != '.'))
			return -1;
		unsigned n;
		size_t c = read_number(s + pos, len - pos, 10, &n);
		if (!c || n > 0xFF)
			return -1;
		out[j] = (uint8_t)n;
		pos += c;
	}
	return pos == len ? 0 : -1;
}

/* Moves the groups after the "::" to the end and zeroes the gap. */
static int expand_ellipsis(uint8_t ip[16], int i, int ellipsis)
{
	if (i == 16)
		return ellipsis < 0 ? 0 : -1;	/* "::" must stand for a zero group */
	if (ellipsis < 0)
		return -1;
	int n = 16 - i;
	memmove(ip + ellipsis + n, ip + ellipsis, (size_t)(i - ellipsis));
	memset(ip + ellipsis, 0, (size_t)n);
	return 0;
}

/* A trailing dotted IPv4 part at group offset i. */
static int ipv6_tail4(const char *s, size_t len, uint8_t ip[16], int i, int ellipsis)
{
	if ((ellipsis < 0 && i != 12) || i + 4 > 16 || parse_ipv4(s, len, ip + i) < 0)
		return -1;
	return expand_ellipsis(ip, i + 4, ellipsis);
}

static int parse_ipv6(const char *s, size_t len, uint8_t ip[16])
{
	int ellipsis = -1, i = 0;
	size_t pos = 0;
	memset(ip, 0, 16);
	if (len >= 2 && s[0] == ':' && s[1] == ':') {
		ellipsis = 0;
		pos = 2;
		if (pos == len)
			return 0;
	}
	while (i < 16) {
		unsigned n;
		size_t c = read_number(s + pos, len - pos, 16, &n);
		if (!c || n > 0xFFFF)
			return -1;
		if (pos + c < len && s[pos + c] == '.')
			return ipv6_tail4(s + pos, len - pos, ip, i, ellipsis);
		ip[i] = (uint8_t)(n >> 8);
		ip[i + 1] = (uint8_t)n;
		i += 2;
		pos += c;
		if (pos == len)
			break;
		if (s[pos] != ':' || pos + 1 == len)
			return -1;
		pos++;
		if (s[pos] == ':') {
			if (ellipsis >= 0)
				return -1;
			ellipsis = i;
			if (++pos == len)
				break;
		}
	}
	if (pos != len)
		return -1;
	return expand_ellipsis(ip, i, ellipsis);
}

static u128 bytes_to_u128(const uint8_t *b, int n)
{
	u128 v = 0;
	for (int i = 0; i < n; i++)
		v = (v << 8) | b[i];
	return v;
}

/* The mask of the top plen bits of a bits-wide address. */
static u128 prefix_mask(int plen, int bits)
{
	u128 all = bits == 128 ? ~(u128)0 : (((u128)1 << bits) - 1);
	int host = bits - plen;
	return host >= 128 ? 0 : all & ~(((u128)1 << host) - 1);
}

/* Parses "ADDR/LEN"; on failure stores a reason for the message. */
static int parse_cidr(const char *s, size_t len, struct cidr *out, const char **why)
{
	const char *slash = memchr(s, '/', len);
	if (!slash) {
		*why = "expected an address and a prefix length, such as 10.0.0.0/16";
		return -1;
	}
	size_t alen = (size_t)(slash - s), mlen = len - alen - 1;
	uint8_t b[16];
	*why = "not an IPv4 or IPv6 address";
	if (parse_ipv4(s, alen, b) == 0) {
		out->bits = 32;
		out->addr = bytes_to_u128(b, 4);
	} else if (parse_ipv6(s, alen, b) == 0) {
		out->bits = 128;
		out->addr = bytes_to_u128(b, 16);
	} else {
		return -1;
	}
	unsigned n;
	size_t c = read_number(slash + 1, mlen, 10, &n);
	if (!c || c != mlen || n > (unsigned)out->bits) {
		*why = out->bits == 32 ? "the prefix length must be a number from 0 to 32"
				       : "the prefix length must be a number from 0 to 128";
		return -1;
	}
	out->plen = (int)n;
	out->addr &= prefix_mask(out->plen, out->bits);
	return 0;
}

/* ---- formatting ---- */

static void format_ipv4(u128 a, char *out, size_t size)
{
	unsigned v = (unsigned)a;
	snprintf(out, size, "%u.%u.%u.%u", v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
}

/* The longest run (at least two) of zero groups, leftmost on ties. */
static void zero_run(const unsigned g[8], int *start, int *end)
{
	*start = *end = -1;
	for (int i = 0; i < 8;) {
		int j = i;
		while (j < 8 && g[j] == 0)
			j++;
		if (j - i >= 2 && j - i > *end - *start)
			*start = i, *end = j;
		i = j > i ? j : i + 1;
	}
}

/* RFC 5952 text, as Go prints it. */
static void format_ipv6(u128 a, char *out, size_t size)
{
	unsigned g[8];
	for (int i = 0; i < 8; i++)
		g[i] = (unsigned)(a >> (112 - 16 * i)) & 0xffff;
	int zs, ze;
	zero_run(g, &zs, &ze);
	size_t n = 0;
	out[0] = '\0';
	for (int i = 0; i < 8 && n < size; i++) {
		if (i == zs) {
			n += (size_t)snprintf(out + n, size - n, "::");
			i = ze - 1;
			continue;
		}
		const char *sep = i > 0 && i != ze ? ":" : "";
		n += (size_t)snprintf(out + n, size - n, "%s%x", sep, g[i]);
	}
}

static void format_addr(u128 a, int bits, char *out, size_t size)
{
	if (bits == 32)
		format_ipv4(a, out, size);
	else
		format_ipv6(a, out, size);
}

/* ---- arguments ---- */

static const char *shown(const struct value *v)
{
	return v->sensitive ? "(sensitive)" : v->str.s;
}

static bool cidr_arg(struct call_ctx *c, struct value **args, struct cidr *out)
{
	const char *why;
	if (!call_expect(c, args, 0, VAL_STR))
		return false;
	if (parse_cidr(args[0]->str.s, args[0]->str.len, out, &why) == 0)
		return true;
	call_error(c, "invalid CIDR address '%s': %s", shown(args[0]), why);
	return false;
}

/* A whole number within int64; what names the parameter in messages. */
static bool whole_arg(struct call_ctx *c, struct value **args, size_t i, const char *what,
		      int64_t *out)
{
	if (!call_expect(c, args, i, VAL_INT))
		return false;
	if (args[i]->kind == VAL_INT) {
		*out = args[i]->i;
		return true;
	}
	double d = args[i]->f;
	char text[400];
	format_double(d, text, sizeof(text));
	if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) {
		call_error(c, "%s must be a whole number within 64 bits, not %s", what, text);
		return false;
	}
	if ((double)(int64_t)d != d) {
		call_error(c, "%s must be a whole number, not %s", what, text);
		return false;
	}
	*out = (int64_t)d;
	return true;
}

static struct value *text_result(struct call_ctx *c, struct value **args, const char *s)
{
	struct value *v = string_value(c, s, strlen(s));
	if (v)
		v->sensitive = args[0]->sensitive;
	return v;
}

/* ---- the functions ---- */

static struct value *fn_cidrsubnet(struct call_ctx *c, struct value **args, size_t nargs)
{
	(void)nargs;
	struct cidr p;
	int64_t newbits, netnum;
	if (!cidr_arg(c, args, &p) || !whole_arg(c, args, 1, "newbits", &newbits) ||
	    !whole_arg(c, args, 2, "netnum", &netnum))
		return NULL;
	if (newbits < 0)
		return call_error(c, "newbits must not be negative, not %lld", (long long)newbits);
	if (newbits > p.bits - p.plen)
		return call_error(c, "insufficient address space to extend prefix of %d by %lld",
				  p.plen, (long long)newbits);
	if (netnum < 0 || (newbits < 63 && netnum >= (int64_t)1 << newbits))
		return call_error(c, "prefix extension of %lld does not accommodate a subnet numbered %lld",
				  (long long)newbits, (long long)netnum);
	int plen = p.plen + (int)newbits;
	u128 addr = p.addr | (netnum ? (u128)netnum << (p.bits - plen) : 0);
	char text[64], out[80];
	format_addr(addr, p.bits, text, sizeof(text));
	snprintf(out, sizeof(out), "%s/%d", text, plen);
	return text_result(c, args, out);
}

/* The offset of host number n in a block of hostbits, or -1 when n does
 * not fit (negative n counts back from the end). */
static int host_offset(int64_t n, int hostbits, u128 *out)
{
	if (n >= 0) {
		if (hostbits < 64 && n >= (int64_t)1 << hostbits)
			return -1;
		*out = (u128)n;
		return 0;
	}
	u128 mag = (u128)(uint64_t)(-(n + 1)) + 1;
	u128 size = hostbits == 128 ? 0 : (u128)1 << hostbits;
	if (hostbits < 128 && mag > size)
		return -1;
	*out = size - mag;	/* wraps to 2^128 - mag for ::/0 */
	return 0;
}

static struct value *fn_cidrhost(struct call_ctx *c, struct value **args, size_t nargs)
{
	(void)nargs;
	struct cidr p;
	int64_t hostnum;
	u128 off;
	if (!cidr_arg(c, args, &p) || !whole_arg(c, args, 1, "hostnum", &hostnum))
		return NULL;
	if (host_offset(hostnum, p.bits - p.plen, &off) < 0)
		return call_error(c, "prefix of %d does not accommodate a host numbered %lld", p.plen,
				  (long long)hostnum);
	char text[64];
	format_addr(p.addr + off, p.bits, text, sizeof(text));
	return text_result(c, args, text);
}

static struct value *fn_cidrnetmask(struct call_ctx *c, struct value **args, size_t nargs)
{
	(void)nargs;
	struct cidr p;
	if (!cidr_arg(c, args, &p))
		return NULL;
	if (p.bits != 32)
		return call_error(c, "IPv6 addresses cannot have a netmask: '%s'", shown(args[0]));
	char text[32];
	format_ipv4(prefix_mask(p.plen, 32), text, sizeof(text));
	return text_result(c, args, text);
}

const struct builtin stdlib_net[] = {
	{ "cidrsubnet", 3, 3, fn_cidrsubnet },
	{ "cidrhost", 2, 2, fn_cidrhost },
	{ "cidrnetmask", 1, 1, fn_cidrnetmask },
	{ NULL, 0, 0, NULL },
};
