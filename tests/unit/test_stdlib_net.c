/* test_stdlib_net.c - stdlib/net.c: cidrsubnet, cidrhost, cidrnetmask.
 * Expected values were checked against `terraform console` (1.11). */
#include "helpers.h"

#include <stdint.h>

#include "builtins.h"
#include "value.h"

static struct arena net_arena;
static struct srcfile net_src;

static void net_setup(void)
{
	arena_init(&net_arena);
	net_src = mem_file("dev/app/api/unit.yaml", "inputs:\n  cidr: ${cidrsubnet(x)}\n");
	diag_clear();
}

static void net_teardown(void)
{
	diag_clear();
	arena_free(&net_arena);
}

TestSuite(stdlib_net, .init = net_setup, .fini = net_teardown);

static struct value *net_str(const char *s)
{
	return value_cstr(&net_arena, s);
}

static struct value *net_int(int64_t i)
{
	return value_int(&net_arena, i, NULL);
}

static struct value *net_call(const char *name, struct value **args, size_t nargs)
{
	const struct builtin *b = builtin_find(name);
	cr_assert_not_null(b, "no builtin %s", name);
	cr_assert((int)nargs >= b->min_args && (b->max_args < 0 || (int)nargs <= b->max_args));
	struct call_ctx c = { &net_arena, name, &net_src, 18, &limits_default, NULL, NULL, NULL };
	return b->fn(&c, args, nargs);
}

static void net_want_str(const struct value *v, const char *want, const char *what)
{
	cr_assert_not_null(v, "%s failed, want %s", what, want);
	cr_assert_eq(v->kind, VAL_STR, "%s: not a string", what);
	cr_assert_str_eq(v->str.s, want, "%s", what);
	cr_assert_eq(v->str.len, strlen(want));
	cr_assert_eq(diag_error_count(), 0);
}

/* The call failed with exactly one error whose line holds needle. */
static void net_want_err(const struct value *v, const char *needle)
{
	cr_assert_null(v, "expected an error containing '%s'", needle);
	cr_assert_eq(diag_error_count(), 1);
	char *out = diag_capture();
	cr_assert(strstr(out, needle), "diagnostic\n%s\nlacks '%s'", out, needle);
	cr_assert(strstr(out, "dev/app/api/unit.yaml:2:"), "no location in\n%s", out);
	free(out);
}

static struct value *net_subnet(const char *prefix, int64_t newbits, int64_t netnum)
{
	struct value *args[] = { net_str(prefix), net_int(newbits), net_int(netnum) };
	return net_call("cidrsubnet", args, 3);
}

static struct value *net_host(const char *prefix, int64_t hostnum)
{
	struct value *args[] = { net_str(prefix), net_int(hostnum) };
	return net_call("cidrhost", args, 2);
}

static struct value *net_netmask(const char *prefix)
{
	struct value *args[] = { net_str(prefix) };
	return net_call("cidrnetmask", args, 1);
}

struct net_subnet_case {
	const char *prefix;
	int64_t newbits, netnum;
	const char *want;
};

static void net_subnet_table(const struct net_subnet_case *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		net_want_str(net_subnet(t[i].prefix, t[i].newbits, t[i].netnum), t[i].want, t[i].prefix);
}

/* ---- the table ---- */

Test(stdlib_net, table_arity)
{
	const struct builtin *b = builtin_find("cidrsubnet");
	cr_assert(b && b->min_args == 3 && b->max_args == 3);
	b = builtin_find("cidrhost");
	cr_assert(b && b->min_args == 2 && b->max_args == 2);
	b = builtin_find("cidrnetmask");
	cr_assert(b && b->min_args == 1 && b->max_args == 1);
}

/* ---- cidrsubnet ---- */

Test(stdlib_net, subnet_ipv4)
{
	const struct net_subnet_case t[] = {
		{ "10.0.0.0/16", 8, 2, "10.0.2.0/24" },
		{ "172.16.0.0/12", 4, 2, "172.18.0.0/16" },
		{ "10.0.0.0/16", 0, 0, "10.0.0.0/16" },
		{ "10.1.2.3/32", 0, 0, "10.1.2.3/32" },
		{ "10.0.0.0/8", 24, 16777215, "10.255.255.255/32" },
		{ "10.0.0.0/16", 16, 65535, "10.0.255.255/32" },
		{ "0.0.0.0/0", 1, 1, "128.0.0.0/1" },
		{ "0.0.0.0/0", 32, 4294967295, "255.255.255.255/32" },
	};
	net_subnet_table(t, sizeof(t) / sizeof(*t));
}

Test(stdlib_net, subnet_masks_host_bits)
{
	net_want_str(net_subnet("10.0.0.1/16", 8, 2), "10.0.2.0/24", "host bits");
	net_want_str(net_subnet("10.255.255.255/8", 8, 0), "10.0.0.0/16", "host bits");
}

Test(stdlib_net, subnet_leading_zeros_as_terraform)
{
	net_want_str(net_subnet("010.0.0.0/016", 8, 2), "10.0.2.0/24", "leading zeros");
	net_want_str(net_subnet("0010.0.0.0/0000008", 8, 1), "10.1.0.0/16", "leading zeros");
	net_want_str(net_subnet("fd00:00001::/32", 8, 1), "fd00:1:100::/40", "leading zeros v6");
}

Test(stdlib_net, subnet_ipv6)
{
	const struct net_subnet_case t[] = {
		{ "fd00::/56", 8, 3, "fd00:0:0:3::/64" },
		{ "fd00::/8", 70, 3, "fd00::c:0:0:0/78" },
		{ "::/0", 128, 5, "::5/128" },
		{ "::/0", 64, 5, "0:0:0:5::/64" },
		{ "2001:db8::/32", 16, 65535, "2001:db8:ffff::/48" },
		{ "FD00::/8", 8, 1, "fd01::/16" },
		{ "1::/16", 112, 1, "1::1/128" },
		{ "::/128", 0, 0, "::/128" },
		{ "fd00::/8", 64, INT64_MAX, "fd7f:ffff:ffff:ffff:ff00::/72" },
	};
	net_subnet_table(t, sizeof(t) / sizeof(*t));
}

Test(stdlib_net, subnet_ipv6_text_forms)
{
	const struct net_subnet_case t[] = {
		{ "64:ff9b::1.2.3.4/96", 8, 1, "64:ff9b::100:0/104" },
		{ "1:0:0:2:0:0:0:3/128", 0, 0, "1:0:0:2::3/128" },
		{ "::1:2:3:4:5:6:7/128", 0, 0, "0:1:2:3:4:5:6:7/128" },
		{ "1:2:3:4:5:6:7::/128", 0, 0, "1:2:3:4:5:6:7:0/128" },
		{ "2001:db8:0:0:1:0:0:1/128", 0, 0, "2001:db8::1:0:0:1/128" },
		{ "2001:0:0:1::/64", 0, 0, "2001:0:0:1::/64" },
		{ "1:2:3:4:5:6:1.2.3.4/128", 0, 0, "1:2:3:4:5:6:102:304/128" },
	};
	net_subnet_table(t, sizeof(t) / sizeof(*t));
}

Test(stdlib_net, subnet_whole_float_args)
{
	struct value *args[] = { net_str("10.0.0.0/8"), value_float(&net_arena, 4.0, NULL),
				 value_float(&net_arena, 15.0, NULL) };
	net_want_str(net_call("cidrsubnet", args, 3), "10.240.0.0/12", "floats");
}

Test(stdlib_net, subnet_number_too_big)
{
	net_want_err(net_subnet("10.0.0.1/16", 8, 300),
		     "error: cidrsubnet: prefix extension of 8 does not accommodate a subnet numbered 300");
}

Test(stdlib_net, subnet_number_edge)
{
	net_want_err(net_subnet("10.0.0.0/8", 4, 16), "prefix extension of 4 does not accommodate a subnet numbered 16");
}

Test(stdlib_net, subnet_zero_extension_needs_zero)
{
	net_want_err(net_subnet("10.0.0.0/16", 0, 1), "prefix extension of 0 does not accommodate a subnet numbered 1");
}

Test(stdlib_net, subnet_ipv6_number_too_big)
{
	net_want_err(net_subnet("fd00::/8", 32, 4294967296),
		     "prefix extension of 32 does not accommodate a subnet numbered 4294967296");
}

Test(stdlib_net, subnet_negative_netnum)
{
	net_want_err(net_subnet("10.0.0.0/16", 8, -1), "prefix extension of 8 does not accommodate a subnet numbered -1");
}

Test(stdlib_net, subnet_negative_newbits)
{
	net_want_err(net_subnet("10.0.0.0/16", -1, 0), "cidrsubnet: newbits must not be negative, not -1");
}

Test(stdlib_net, subnet_newbits_too_many_v4)
{
	net_want_err(net_subnet("10.0.0.0/16", 17, 2), "insufficient address space to extend prefix of 16 by 17");
}

Test(stdlib_net, subnet_newbits_too_many_v6)
{
	net_want_err(net_subnet("fd00::/56", 73, 3), "insufficient address space to extend prefix of 56 by 73");
}

Test(stdlib_net, subnet_newbits_huge)
{
	net_want_err(net_subnet("10.0.0.0/16", INT64_MAX, 0), "extend prefix of 16 by 9223372036854775807");
}

Test(stdlib_net, subnet_fractional_netnum)
{
	struct value *args[] = { net_str("10.0.0.0/16"), net_int(8), value_float(&net_arena, 1.5, NULL) };
	net_want_err(net_call("cidrsubnet", args, 3), "cidrsubnet: netnum must be a whole number, not 1.5");
}

Test(stdlib_net, subnet_fractional_newbits)
{
	struct value *args[] = { net_str("10.0.0.0/8"), value_float(&net_arena, 2.5, NULL), net_int(1) };
	net_want_err(net_call("cidrsubnet", args, 3), "cidrsubnet: newbits must be a whole number, not 2.5");
}

Test(stdlib_net, subnet_netnum_beyond_int64)
{
	struct value *args[] = { net_str("fd00::/8"), net_int(100), value_float(&net_arena, 1e19, NULL) };
	net_want_err(net_call("cidrsubnet", args, 3), "netnum must be a whole number within 64 bits");
}

Test(stdlib_net, subnet_wrong_types)
{
	struct value *args[] = { net_int(1), net_int(8), net_int(2) };
	net_want_err(net_call("cidrsubnet", args, 3), "cidrsubnet: argument 1 must be a");
	diag_clear();
	struct value *args2[] = { net_str("10.0.0.0/8"), net_str("8"), net_int(2) };
	cr_assert_null(net_call("cidrsubnet", args2, 3));
	cr_assert_eq(diag_error_count(), 1);
}

Test(stdlib_net, invalid_cidr_texts)
{
	const char *bad[] = {
		"10.0.0.0/33", "10.0.0.256/16", "1.2.3/8", "1.2.3.4/", "1.2.3.4/-1", "1.2.3.4/+8",
		" 10.0.0.0/16", "10.0.0.0/16 ", ":::/128", "1::2::3/128", "1:2:3:4:5:6:7:8:9/128",
		"fd00::1:2:3:4:5:6:7/64", "1:2:3:4:5:6:7:8::/128", "/8", "fd00::/129", "10.0.0.0/8/8",
		"1.2.3.4.5/8", "fd00:12345::/32", "fd00::1.2.3.4.5/128", "1:2:3:4:5:6:7:1.2.3.4/128",
		"fd00:/8", ":fd00::/8", "g::/8", "10.0.0.0/99999999999", "1.2.3.4::/8", "::1.2.3/128",
		"１.2.3.4/8", "10.0.0.0/1e1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		cr_assert_null(net_subnet(bad[i], 1, 0), "'%s' accepted", bad[i]);
		char *out = diag_capture();
		cr_assert(strstr(out, "cidrsubnet: invalid CIDR address '"), "'%s': %s", bad[i], out);
		free(out);
	}
}

Test(stdlib_net, invalid_cidr_missing_length)
{
	net_want_err(net_subnet("10.0.0.0", 8, 1),
		     "cidrsubnet: invalid CIDR address '10.0.0.0': expected an address and a prefix length");
}

Test(stdlib_net, invalid_cidr_length_range)
{
	net_want_err(net_subnet("10.0.0.0/33", 8, 1), "the prefix length must be a number from 0 to 32");
	diag_clear();
	cr_assert_null(net_subnet("fd00::/200", 8, 1));
	char *out = diag_capture();
	cr_assert(strstr(out, "from 0 to 128"), "%s", out);
	free(out);
}

Test(stdlib_net, invalid_cidr_empty_and_nul)
{
	net_want_err(net_subnet("", 8, 1), "invalid CIDR address ''");
	diag_clear();
	struct value *args[] = { value_str(&net_arena, "10.0.0.0\0/8", 11, NULL), net_int(8), net_int(1) };
	cr_assert_null(net_call("cidrsubnet", args, 3));
	cr_assert_eq(diag_error_count(), 1);
}

Test(stdlib_net, sensitive_prefix_is_hidden)
{
	struct value *bad = net_str("10.0.0.0/99"), *good = net_str("10.0.0.0/16");
	bad->sensitive = good->sensitive = true;
	struct value *args[] = { bad, net_int(8), net_int(1) };
	cr_assert_null(net_call("cidrsubnet", args, 3));
	char *out = diag_capture();
	cr_assert(strstr(out, "'(sensitive)'") && !strstr(out, "10.0.0.0/99"), "%s", out);
	free(out);
	struct value *args2[] = { good, net_int(8), net_int(1) };
	struct value *v = net_call("cidrsubnet", args2, 3);
	net_want_str(v, "10.0.1.0/24", "sensitive");
	cr_assert(v->sensitive);
	cr_assert_not(net_subnet("10.0.0.0/16", 8, 1)->sensitive);
}

/* A randomized cross-check of IPv4 subnets against plain 32-bit math. */
Test(stdlib_net, subnet_ipv4_random)
{
	uint64_t state = 0x9e3779b97f4a7c15ULL;
	for (int i = 0; i < 500; i++) {
		uint32_t addr = (uint32_t)test_rand(&state);
		int plen = (int)(test_rand(&state) % 33);
		int newbits = (int)(test_rand(&state) % (uint64_t)(33 - plen));
		uint64_t netnum = newbits ? test_rand(&state) % (1ULL << newbits) : 0;
		char in[32], want[32];
		snprintf(in, sizeof(in), "%u.%u.%u.%u/%d", addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255,
			 addr & 255, plen);
		uint32_t mask = plen ? ~0u << (32 - plen) : 0;
		uint32_t net = (addr & mask) | (newbits ? (uint32_t)(netnum << (32 - plen - newbits)) : 0);
		snprintf(want, sizeof(want), "%u.%u.%u.%u/%d", net >> 24, (net >> 16) & 255, (net >> 8) & 255,
			 net & 255, plen + newbits);
		net_want_str(net_subnet(in, newbits, (int64_t)netnum), want, in);
	}
}

/* ---- cidrhost ---- */

Test(stdlib_net, host_ipv4)
{
	net_want_str(net_host("10.12.112.0/20", 16), "10.12.112.16", "16");
	net_want_str(net_host("10.12.112.0/20", 268), "10.12.113.12", "268");
	net_want_str(net_host("10.12.112.0/20", 4095), "10.12.127.255", "4095");
	net_want_str(net_host("10.0.0.0/32", 0), "10.0.0.0", "/32");
	net_want_str(net_host("10.0.0.7/24", 5), "10.0.0.5", "host bits");
}

Test(stdlib_net, host_negative_counts_from_end)
{
	net_want_str(net_host("10.12.112.0/20", -1), "10.12.127.255", "-1");
	net_want_str(net_host("10.12.112.0/20", -4096), "10.12.112.0", "-4096");
	net_want_str(net_host("10.0.0.0/0", -1), "255.255.255.255", "/0");
	net_want_str(net_host("192.168.1.0/24", -2), "192.168.1.254", "-2");
}

Test(stdlib_net, host_ipv6)
{
	net_want_str(net_host("fd00:fd12:3456:7890:00a2::/72", 34), "fd00:fd12:3456:7890::22", "34");
	net_want_str(net_host("fd00::/120", -1), "fd00::ff", "-1");
	net_want_str(net_host("::/0", -1), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::/0");
	net_want_str(net_host("::/0", 5), "::5", "5");
	net_want_str(net_host("::/0", INT64_MIN), "ffff:ffff:ffff:ffff:8000::", "min");
	net_want_str(net_host("fd00::/64", INT64_MAX), "fd00::7fff:ffff:ffff:ffff", "max");
	net_want_str(net_host("fd00::/64", INT64_MIN), "fd00::8000:0:0:0", "min /64");
	net_want_str(net_host("fd00:00001::/32", 1), "fd00:1::1", "zeros");
}

Test(stdlib_net, host_too_big)
{
	net_want_err(net_host("10.12.112.0/20", 4096), "cidrhost: prefix of 20 does not accommodate a host numbered 4096");
}

Test(stdlib_net, host_too_negative)
{
	net_want_err(net_host("10.12.112.0/20", -4097), "prefix of 20 does not accommodate a host numbered -4097");
}

Test(stdlib_net, host_single_address)
{
	net_want_err(net_host("10.0.0.0/32", 1), "prefix of 32 does not accommodate a host numbered 1");
	diag_clear();
	net_want_err(net_host("10.0.0.0/32", -2), "prefix of 32 does not accommodate a host numbered -2");
}

Test(stdlib_net, host_extremes_ipv4)
{
	net_want_err(net_host("10.0.0.0/8", INT64_MIN), "host numbered -9223372036854775808");
	diag_clear();
	net_want_err(net_host("10.0.0.0/8", INT64_MAX), "host numbered 9223372036854775807");
}

Test(stdlib_net, host_ipv6_too_big)
{
	net_want_err(net_host("fd00::/120", 256), "prefix of 120 does not accommodate a host numbered 256");
}

Test(stdlib_net, host_fractional)
{
	struct value *args[] = { net_str("10.0.0.0/8"), value_float(&net_arena, 1.5, NULL) };
	net_want_err(net_call("cidrhost", args, 2), "cidrhost: hostnum must be a whole number, not 1.5");
}

Test(stdlib_net, host_invalid_cidr)
{
	net_want_err(net_host("x", 1), "cidrhost: invalid CIDR address 'x'");
}

Test(stdlib_net, host_wrong_type)
{
	struct value *args[] = { net_str("10.0.0.0/8"), value_null(&net_arena, NULL) };
	net_want_err(net_call("cidrhost", args, 2), "cidrhost: argument 2 must be a");
}

/* ---- cidrnetmask ---- */

Test(stdlib_net, netmask_ipv4)
{
	net_want_str(net_netmask("172.16.0.0/12"), "255.240.0.0", "/12");
	net_want_str(net_netmask("10.0.0.0/0"), "0.0.0.0", "/0");
	net_want_str(net_netmask("10.0.0.0/32"), "255.255.255.255", "/32");
	net_want_str(net_netmask("10.0.0.0/25"), "255.255.255.128", "/25");
}

Test(stdlib_net, netmask_ipv6_refused)
{
	net_want_err(net_netmask("fd00::/56"), "cidrnetmask: IPv6 addresses cannot have a netmask: 'fd00::/56'");
}

Test(stdlib_net, netmask_invalid)
{
	net_want_err(net_netmask("x"), "cidrnetmask: invalid CIDR address 'x'");
}

Test(stdlib_net, netmask_wrong_type)
{
	struct value *args[] = { value_bool(&net_arena, true, NULL) };
	net_want_err(net_call("cidrnetmask", args, 1), "cidrnetmask: argument 1 must be a");
}
