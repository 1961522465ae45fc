/* bench/gen.c - deterministic benchmark repo generator for bulkhead.
 *
 *   bench-gen [-n UNITS_PER_ENV] [-e ENVS] [-s SEED] [-G] OUTDIR
 *
 * Writes a bulkhead repo of UNITS_PER_ENV units in each of ENVS envs:
 *
 *   bulkhead.yaml                     envs (dev/stage/prod for 3, else env0..),
 *                                     quoted unique 12-digit accounts, eu-west-1
 *   _common/tags.yaml                 level 3 include
 *   _common/base-M.yaml               level 2, includes //_common/tags.yaml
 *   _common/svc-K.yaml                level 1, includes base-M.yaml (relative)
 *   <env>/vars.yaml                   env knobs
 *   <env>/gGG/vars.yaml               group knobs, deep-merged over the env's
 *   <env>/gGG/sSSS/uNNNNN/unit.yaml   the units (10-30 input keys, maps, lists,
 *                                     expressions, locals, ~3 dependencies each)
 *
 * Every env holds the same unit ids with byte-identical unit.yaml files, so
 * all env differences come from vars.yaml and the env entry (drift finds
 * only `parameterized` differences). Dependencies point at earlier units of
 * the same env (acyclic by construction) and carry mock_outputs for every
 * output key referenced. -G adds `generate: [backend, provider]`.
 *
 * Output depends only on the arguments (own xorshift64* PRNG). OUTDIR is
 * created if missing; existing files of the same names are overwritten.
 * Every unit has `revision: 1` among its inputs: bench/run.sh edits it in
 * one env for the one-unit-changed rebuild (drift-allowed project-wide, with
 * the `upstream_revision` that dependents read from it, so that edit is not
 * drift and build still succeeds).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define N_SVC 16      /* _common/svc-K.yaml */
#define N_BASE 8      /* _common/base-M.yaml */
#define GROUP_SIZE 250 /* units per gGG folder */
#define SUB_SIZE 20    /* units per sSSS folder */

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* xorshift64* */
	uint64_t x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static unsigned rnd(unsigned n) /* uniform-ish in [0, n) */
{
	return n ? (unsigned)(rng() % n) : 0;
}

static void seed_rng(uint64_t seed)
{
	/* splitmix64 so that small seeds still give a well-mixed state */
	uint64_t z = seed + 0x9E3779B97F4A7C15ULL;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z ^= z >> 31;
	rng_state = z ? z : 0x853c49e6748fea9bULL;
}

static void die(const char *fmt, ...)
{
	va_list ap;
	fputs("bench-gen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* ---- growable text buffer ---- */

struct buf {
	char *p;
	size_t len, cap;
};

static void buf_grow(struct buf *b, size_t need)
{
	if (b->len + need + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + need + 1)
		cap *= 2;
	b->p = realloc(b->p, cap);
	if (!b->p)
		die("out of memory");
	b->cap = cap;
}

static void bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		die("vsnprintf failed");
	buf_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* ---- file system ---- */

static char root[4096];
static unsigned long long files_written, bytes_written;

static void mkdirs(const char *rel) /* mkdir -p root/rel */
{
	char path[8192];
	int n = snprintf(path, sizeof path, "%s/%s", root, rel);
	if (n < 0 || (size_t)n >= sizeof path)
		die("path too long: %s", rel);
	for (char *s = path + strlen(root) + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(path, 0777) < 0 && errno != EEXIST)
			die("mkdir %s: %s", path, strerror(errno));
		*s = '/';
	}
	if (mkdir(path, 0777) < 0 && errno != EEXIST)
		die("mkdir %s: %s", path, strerror(errno));
}

static void write_file(const char *rel, const struct buf *b)
{
	char path[8192];
	int n = snprintf(path, sizeof path, "%s/%s", root, rel);
	if (n < 0 || (size_t)n >= sizeof path)
		die("path too long: %s", rel);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	size_t off = 0;
	while (off < b->len) {
		ssize_t w = write(fd, b->p + off, b->len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			die("write %s: %s", path, strerror(errno));
		}
		off += (size_t)w;
	}
	if (close(fd) < 0)
		die("close %s: %s", path, strerror(errno));
	files_written++;
	bytes_written += b->len;
}

/* ---- the repo ---- */

struct env {
	char name[32];
	char account[16];
	int protected_;
};

static const char *const LOG_LEVELS[] = { "debug", "info", "warn" };
static const char *const INSTANCE_TYPES[] = { "t3.small", "t3.medium", "m6i.large" };
static const char *const TEAMS[] = { "payments", "search", "identity", "platform", "data",
				     "growth", "mobile", "infra", "risk", "ledger" };
static const char *const WORDS[] = { "alpha", "bravo", "charlie", "delta", "echo", "foxtrot",
				     "golf", "hotel", "india", "juliet", "kilo", "lima",
				     "mike", "november", "oscar", "papa", "quebec", "romeo" };
#define NWORDS (sizeof WORDS / sizeof *WORDS)

static void unit_id(char *out, size_t n, unsigned i)
{
	snprintf(out, n, "g%02u/s%03u/u%05u", i / GROUP_SIZE, i / SUB_SIZE, i);
}

static void gen_project(const struct env *envs, unsigned ne, int generate)
{
	struct buf b = { 0 };
	bprintf(&b, "# bulkhead benchmark repo (bench/gen.c)\n"
		    "version: 1\n"
		    "project: bench\n"
		    "environments:\n");
	for (unsigned e = 0; e < ne; e++)
		bprintf(&b, "  %s: { account_id: \"%s\", region: eu-west-1%s }\n", envs[e].name,
			envs[e].account, envs[e].protected_ ? ", protected: true" : "");
	bprintf(&b, "output:\n"
		    "  dir: out\n"
		    "  path: \"{env}/{account_id}/{region}/{unit}\"\n");
	if (generate)
		bprintf(&b, "  generate: [backend, provider]\n");
	bprintf(&b, "drift:\n"
		    "  allow: [\"*:inputs.instance_type\", \"*:inputs.revision\", \"*:inputs.upstream_revision\"]\n"
		    "allow_env: [CI_COMMIT_SHA]\n");
	write_file("bulkhead.yaml", &b);
	free(b.p);
}

static void gen_common(void)
{
	struct buf b = { 0 };
	mkdirs("_common");

	bprintf(&b, "# level 3: tags every resource carries\n"
		    "inputs:\n"
		    "  tags:\n"
		    "    Owner: platform-team\n"
		    "    ManagedBy: bulkhead\n"
		    "    Repository: bench/infra\n"
		    "    CostCenter: \"0420\"\n"
		    "    Environment: ${env.name}\n"
		    "    DataClassification: internal\n");
	write_file("_common/tags.yaml", &b);

	for (unsigned m = 0; m < N_BASE; m++) {
		char rel[64];
		b.len = 0;
		bprintf(&b, "# level 2: base profile %u\n"
			    "include:\n"
			    "  - //_common/tags.yaml\n"
			    "locals:\n"
			    "  profile: base-%u\n"
			    "inputs:\n"
			    "  region: ${env.region}\n"
			    "  account_id: ${env.account_id}\n"
			    "  base_profile: ${local.profile}\n"
			    "  monitoring:\n"
			    "    enabled: true\n"
			    "    retention_days: ${var.retention_days}\n"
			    "    alarms: [cpu, memory, errors%s]\n"
			    "    thresholds: { cpu: %u, memory: %u }\n"
			    "  log_retention_days: ${var.retention_days}\n"
			    "  tags:\n"
			    "    Profile: base-%u\n",
			m, m, m % 2 ? ", latency" : "", 60 + 5 * m, 70 + 3 * m, m);
		snprintf(rel, sizeof rel, "_common/base-%u.yaml", m);
		write_file(rel, &b);
	}

	for (unsigned k = 0; k < N_SVC; k++) {
		char rel[64];
		b.len = 0;
		bprintf(&b, "# level 1: service kind %u\n"
			    "include:\n"
			    "  - base-%u.yaml\n"
			    "source: \"git::https://example.com/bench/modules.git//svc%u?ref=v1.%u.0\"\n"
			    "locals:\n"
			    "  service: svc%u\n"
			    "inputs:\n"
			    "  service_kind: ${local.service}\n"
			    "  port: %u\n"
			    "  replicas: ${var.replicas}\n"
			    "  min_replicas: ${var.min_replicas}\n"
			    "  max_replicas: ${var.max_replicas}\n"
			    "  log_level: ${var.log_level}\n"
			    "  instance_type: ${var.instance_type}\n"
			    "  health_check:\n"
			    "    path: /healthz\n"
			    "    interval: 30\n"
			    "    timeout: 5\n"
			    "    healthy_threshold: 3\n"
			    "  environment:\n"
			    "    - { name: SERVICE, value: svc%u }\n"
			    "    - { name: PORT, value: \"%u\" }\n"
			    "drift:\n"
			    "  allow: [inputs.replicas, inputs.min_replicas, inputs.max_replicas]\n",
			k, k % N_BASE, k, k % 5, k, 8000 + k, k, 8000 + k);
		snprintf(rel, sizeof rel, "_common/svc-%u.yaml", k);
		write_file(rel, &b);
	}
	free(b.p);
}

static void gen_env_vars(const struct env *env, unsigned e, unsigned ngroups)
{
	struct buf b = { 0 };
	char rel[128];
	unsigned lvl = e < 3 ? e : 2;
	mkdirs(env->name);
	bprintf(&b, "# %s knobs\n"
		    "replicas: %u\n"
		    "min_replicas: %u\n"
		    "max_replicas: %u\n"
		    "log_level: %s\n"
		    "instance_type: %s\n"
		    "retention_days: %u\n"
		    "cidr: 10.%u.0.0/16\n"
		    "team: shared\n"
		    "features:\n"
		    "  tracing: %s\n"
		    "  canary: %s\n"
		    "  cache_ttl: %u\n"
		    "alerts:\n"
		    "  email: oncall-%s@example.com\n"
		    "  page: %s\n",
		env->name, 1 + lvl, 1 + lvl, 2 + 3 * lvl, LOG_LEVELS[lvl], INSTANCE_TYPES[lvl],
		lvl == 2 ? 90 : 7 * (lvl + 1), e % 256, lvl ? "true" : "false",
		lvl == 1 ? "true" : "false", 30 * (lvl + 1), env->name, lvl == 2 ? "true" : "false");
	snprintf(rel, sizeof rel, "%s/vars.yaml", env->name);
	write_file(rel, &b);

	for (unsigned g = 0; g < ngroups; g++) {
		b.len = 0;
		bprintf(&b, "# group g%02u knobs (deep-merged over %s/vars.yaml)\n"
			    "team: %s\n"
			    "cost_center: \"1%03u\"\n"
			    "alerts:\n"
			    "  slack: \"#alerts-%s-%s\"\n",
			g, env->name, TEAMS[g % 10], g, TEAMS[g % 10], env->name);
		if (g % 3 == 0)
			bprintf(&b, "replicas: %u\n", 2 + 2 * lvl);
		snprintf(rel, sizeof rel, "%s/g%02u", env->name, g);
		mkdirs(rel);
		snprintf(rel, sizeof rel, "%s/g%02u/vars.yaml", env->name, g);
		write_file(rel, &b);
	}
	free(b.p);
}

/* Writes the text of unit i (identical in every env) into b. */
static void gen_unit(struct buf *b, unsigned i)
{
	char ids[8][48];
	unsigned deps[8];
	unsigned ndeps = 0;

	/* 0..6 dependencies (average 3) on distinct earlier units, mostly near. */
	unsigned want = rnd(7);
	if (want > i)
		want = i;
	while (ndeps < want) {
		unsigned j = rnd(4) ? i - 1 - rnd(i < 200 ? i : 200) : rnd(i);
		int dup = 0;
		for (unsigned d = 0; d < ndeps; d++)
			dup |= deps[d] == j;
		if (!dup)
			deps[ndeps++] = j;
	}
	for (unsigned d = 0; d < ndeps; d++)
		unit_id(ids[d], sizeof ids[d], deps[d]);

	unsigned k = rnd(N_SVC);
	b->len = 0;
	bprintf(b, "# unit %u (%s)\ninclude:\n", i, WORDS[i % NWORDS]);
	if (rnd(4) == 0)
		bprintf(b, "  - ../../../../_common/svc-%u.yaml\n", k);
	else
		bprintf(b, "  - //_common/svc-%u.yaml\n", k);
	if (rnd(3) == 0)
		bprintf(b, "source: \"git::https://example.com/bench/modules.git//svc%u?ref=v1.%u.%u\"\n",
			k, k % 5, 1 + rnd(3));
	bprintf(b, "locals:\n"
		   "  prefix: \"${project.name}-${env.name}\"\n"
		   "  full: \"${local.prefix}-${unit.name}\"\n"
		   "  shard: %u\n",
		i % 8);
	if (ndeps) {
		bprintf(b, "dependencies:\n");
		for (unsigned d = 0; d < ndeps; d++) {
			bprintf(b, "  d%u:\n"
				   "    path: %s\n"
				   "    mock_outputs:\n"
				   "      id: mock-u%05u\n"
				   "      arn: \"arn:aws:mock:eu-west-1::u%05u\"\n",
				d, ids[d], deps[d], deps[d]);
			if (d == 0)
				bprintf(b, "      endpoints: [u%05u-a.internal, u%05u-b.internal]\n",
					deps[d], deps[d]);
		}
	}

	bprintf(b, "inputs:\n"
		   "  name: ${unit.name}\n"
		   "  full_name: \"${project.name}-${env.name}-${unit.name}\"\n"
		   "  label: ${local.full}\n"
		   "  revision: 1\n"
		   "  shard: ${local.shard}\n"
		   "  team: ${var.team}\n"
		   "  cost_center: ${var.cost_center}\n"
		   "  subnet_cidr: \"${cidrsubnet(var.cidr, 8, %u)}\"\n",
		i % 256);
	if (i % 3 == 0)
		bprintf(b, "  replicas: ${var.replicas * %u}\n", 1 + i % 4);
	if (ndeps) {
		bprintf(b, "  upstream_id: ${dependency.d0.outputs.id}\n"
			   "  upstream_endpoints: ${dependency.d0.outputs.endpoints}\n"
			   "  upstream_arns:\n");
		for (unsigned d = 0; d < ndeps; d++)
			bprintf(b, "    - ${dependency.d%u.outputs.arn}\n", d);
		if (i % 4 == 0)
			bprintf(b, "  upstream_revision: ${dependency.d0.inputs.revision}\n");
	}
	bprintf(b, "  labels:\n"
		   "    tier: %s\n"
		   "    team: \"${var.team}\"\n"
		   "    shard: \"${local.shard}\"\n"
		   "  settings: { timeout_ms: %u, retries: %u, mode: %s, compress: %s }\n"
		   "  allowed_ports: [80, 443, %u]\n"
		   "  features:\n"
		   "    tracing: ${var.features.tracing}\n"
		   "    canary: ${var.features.canary}\n"
		   "    cache_ttl: ${var.features.cache_ttl * 2}\n"
		   "  dns_name: \"${lower(unit.name)}.${env.name}.bench.internal\"\n",
		i % 3 ? "backend" : "frontend", 100 * (1 + rnd(50)), rnd(5), WORDS[rnd(NWORDS)],
		rnd(2) ? "true" : "false", 8000 + i % 1000);
	/* 2..12 further plain keys of various shapes: 15-30 input keys per unit */
	unsigned extra = 2 + rnd(11);
	for (unsigned x = 0; x < extra; x++) {
		const char *w = WORDS[(i + x) % NWORDS];
		switch (rnd(6)) {
		case 0:
			bprintf(b, "  %s_%u_count: %u\n", w, x, rnd(1000));
			break;
		case 1:
			bprintf(b, "  %s_%u_enabled: %s\n", w, x, rnd(2) ? "true" : "false");
			break;
		case 2:
			bprintf(b, "  %s_%u_name: %s-%s-%u\n", w, x, w, WORDS[rnd(NWORDS)], rnd(100));
			break;
		case 3:
			bprintf(b, "  %s_%u_list: [%s, %s, %s]\n", w, x, WORDS[rnd(NWORDS)],
				WORDS[rnd(NWORDS)], WORDS[rnd(NWORDS)]);
			break;
		case 4:
			bprintf(b, "  %s_%u_map:\n"
				   "    size: %u\n"
				   "    ratio: %u.%u\n"
				   "    owner: %s\n",
				w, x, rnd(64), rnd(10), 1 + rnd(9), TEAMS[rnd(10)]);
			break;
		default:
			bprintf(b, "  %s_%u_ref: \"${local.prefix}-%s\"\n", w, x, w);
			break;
		}
	}
	if (i % 10 == 0)
		bprintf(b, "drift:\n"
			   "  allow: [inputs.settings.timeout_ms]\n");
}

static void usage(void)
{
	fputs("usage: bench-gen [-n UNITS_PER_ENV] [-e ENVS] [-s SEED] [-G] OUTDIR\n", stderr);
	exit(2);
}

static unsigned long long parse_num(const char *s, unsigned long long max)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (!*s || *end || errno || v > max)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	unsigned n = 1000, ne = 3;
	uint64_t seed = 1;
	int generate = 0, opt;
	while ((opt = getopt(argc, argv, "n:e:s:G")) != -1) {
		switch (opt) {
		case 'n': n = (unsigned)parse_num(optarg, 99999); break;
		case 'e': ne = (unsigned)parse_num(optarg, 200); break;
		case 's': seed = parse_num(optarg, UINT64_MAX); break;
		case 'G': generate = 1; break;
		default: usage();
		}
	}
	if (optind != argc - 1 || n == 0 || ne == 0)
		usage();
	if (strlen(argv[optind]) >= sizeof root - 1)
		die("OUTDIR too long");
	strcpy(root, argv[optind]);
	if (mkdir(root, 0777) < 0 && errno != EEXIST)
		die("mkdir %s: %s", root, strerror(errno));

	static const char *const names3[] = { "dev", "stage", "prod" };
	struct env *envs = calloc(ne, sizeof *envs);
	if (!envs)
		die("out of memory");
	for (unsigned e = 0; e < ne; e++) {
		if (ne <= 3)
			snprintf(envs[e].name, sizeof envs[e].name, "%s",
				 ne == 1 ? "dev" : ne == 2 ? (e ? "prod" : "dev") : names3[e]);
		else
			snprintf(envs[e].name, sizeof envs[e].name, "env%u", e);
		snprintf(envs[e].account, sizeof envs[e].account, "%012llu",
			 100000000000ULL + 111111ULL * (e + 1));
		envs[e].protected_ = ne > 1 && e == ne - 1;
	}

	seed_rng(seed);
	gen_project(envs, ne, generate);
	gen_common();
	unsigned ngroups = (n + GROUP_SIZE - 1) / GROUP_SIZE;
	for (unsigned e = 0; e < ne; e++)
		gen_env_vars(&envs[e], e, ngroups);

	struct buf b = { 0 };
	for (unsigned i = 0; i < n; i++) {
		char id[48], rel[160];
		gen_unit(&b, i);
		unit_id(id, sizeof id, i);
		for (unsigned e = 0; e < ne; e++) {
			snprintf(rel, sizeof rel, "%s/%s", envs[e].name, id);
			mkdirs(rel);
			snprintf(rel, sizeof rel, "%s/%s/unit.yaml", envs[e].name, id);
			write_file(rel, &b);
		}
	}
	free(b.p);
	free(envs);
	fprintf(stderr, "bench-gen: %u units x %u envs, seed %llu: %llu files, %llu bytes in %s\n", n, ne,
		(unsigned long long)seed, files_written, bytes_written, root);
	return 0;
}
