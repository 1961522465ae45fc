/* shim.c - an LD_PRELOAD fault injector for tests/fault/run.sh.
 *
 * It counts the calls bulkhead makes to a chosen set of operations and does
 * something to the Nth one.  Everything is driven by the environment:
 *
 *   FAULT_OP     comma list of: write rename open mkdir unlink rmdir flock
 *                malloc xalloc.  "open" is open() with O_CREAT only.
 *                "malloc" is malloc/calloc/realloc called from the main
 *                program itself (not from libc or another library), so a
 *                failure lands where bulkhead can see it.  "xalloc" is
 *                strdup/strndup/realpath(p, NULL) called from the program.
 *   FAULT_N      the call (1-based, over all selected ops) to act on; 0 or
 *                unset: never act, only count (and log)
 *   FAULT_STICKY 1: act on call N and every later one
 *   FAULT_ACTION fail (default) | kill (SIGKILL before the call) |
 *                sleep (do the call, then sleep FAULT_SLEEP_MS)
 *   FAULT_ERRNO  EIO (default) | ENOSPC | EACCES | EROFS | EDQUOT
 *   FAULT_DIR    only count file operations on paths under this directory
 *                (for write: the path of the fd); malloc ignores it
 *   FAULT_LOG    append one line per counted file operation:
 *                "<n> <op> <path> m=<mallocs so far> x=<xallocs so far>[ FAIL]"
 *                (allocations are logged only when acted on), and at exit
 *                "0 end - m=<mallocs> x=<xallocs>" (counted whatever FAULT_OP)
 *
 * Build: cc -shared -fPIC -O1 -o shim.so shim.c -ldl
 * With an ASan binary, run with ASAN_OPTIONS=verify_asan_link_order=0: the
 * shim must come before the sanitizer runtime to see malloc.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum {
	OP_WRITE = 1 << 0,
	OP_RENAME = 1 << 1,
	OP_OPEN = 1 << 2,
	OP_MKDIR = 1 << 3,
	OP_UNLINK = 1 << 4,
	OP_RMDIR = 1 << 5,
	OP_FLOCK = 1 << 6,
	OP_MALLOC = 1 << 7,
	OP_XALLOC = 1 << 8,
};

enum { ACT_FAIL, ACT_KILL, ACT_SLEEP };

static int ops;
static long fault_n, sleep_ms;
static int sticky, action = ACT_FAIL, fault_errno = EIO;
static char dir[PATH_MAX];
static size_t dirlen;
static int logfd = -1;
static long counter, mallocs, xallocs;
static int resolved, ready, initialising;
static uintptr_t exe_lo, exe_hi, exe_base;

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static char *(*real_strdup)(const char *);
static char *(*real_strndup)(const char *, size_t);
static char *(*real_realpath)(const char *, char *);
static ssize_t (*real_write)(int, const void *, size_t);
static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_rename)(const char *, const char *);
static int (*real_mkdir)(const char *, mode_t);
static int (*real_unlink)(const char *);
static int (*real_rmdir)(const char *);
static int (*real_flock)(int, int);

/* ---- allocations made while dlsym runs ---- */

static _Alignas(16) char boot[1 << 16];
static size_t boot_used;

static void *boot_alloc(size_t n)
{
	size_t need = (n + 16 + 15) & ~(size_t)15;
	if (boot_used + need > sizeof(boot))
		return NULL;
	char *p = boot + boot_used;
	boot_used += need;
	*(size_t *)p = n;
	return p + 16;
}

static int in_boot(const void *p)
{
	return (const char *)p >= boot && (const char *)p < boot + sizeof(boot);
}

/* ---- setup ---- */

static int exe_range(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	/* The first object is the main program. */
	exe_base = info->dlpi_addr;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
		if (!exe_lo || lo < exe_lo)
			exe_lo = lo;
		if (hi > exe_hi)
			exe_hi = hi;
	}
	return 1;
}

static int parse_errno(const char *s)
{
	static const struct { const char *name; int value; } names[] = {
		{ "EIO", EIO }, { "ENOSPC", ENOSPC }, { "EACCES", EACCES }, { "EROFS", EROFS },
		{ "EDQUOT", EDQUOT }, { "EPERM", EPERM }, { "ENOMEM", ENOMEM },
	};
	for (size_t i = 0; s && i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i].name))
			return names[i].value;
	return EIO;
}

static void resolve(void)
{
	if (resolved || initialising)
		return;
	initialising = 1;
	real_malloc = dlsym(RTLD_NEXT, "malloc");
	real_calloc = dlsym(RTLD_NEXT, "calloc");
	real_realloc = dlsym(RTLD_NEXT, "realloc");
	real_free = dlsym(RTLD_NEXT, "free");
	real_strdup = dlsym(RTLD_NEXT, "strdup");
	real_strndup = dlsym(RTLD_NEXT, "strndup");
	real_realpath = dlsym(RTLD_NEXT, "realpath");
	real_write = dlsym(RTLD_NEXT, "write");
	real_open = dlsym(RTLD_NEXT, "open");
	real_open64 = dlsym(RTLD_NEXT, "open64");
	real_openat = dlsym(RTLD_NEXT, "openat");
	real_rename = dlsym(RTLD_NEXT, "rename");
	real_mkdir = dlsym(RTLD_NEXT, "mkdir");
	real_unlink = dlsym(RTLD_NEXT, "unlink");
	real_rmdir = dlsym(RTLD_NEXT, "rmdir");
	real_flock = dlsym(RTLD_NEXT, "flock");
	initialising = 0;
	resolved = 1;
}

/* Reads the settings.  Runs as a constructor: a sanitizer runtime may call
 * malloc from the program's preinit, before libc has set up the
 * environment, so nothing is counted until this has run. */
static void configure(void)
{
	resolve();
	dl_iterate_phdr(exe_range, NULL);
	const char *s = getenv("FAULT_OP");
	static const struct { const char *name; int bit; } opnames[] = {
		{ "write", OP_WRITE }, { "rename", OP_RENAME }, { "open", OP_OPEN }, { "mkdir", OP_MKDIR },
		{ "unlink", OP_UNLINK }, { "rmdir", OP_RMDIR }, { "flock", OP_FLOCK }, { "malloc", OP_MALLOC },
		{ "xalloc", OP_XALLOC },
	};
	while (s && *s) {
		size_t n = strcspn(s, ",");
		for (size_t i = 0; i < sizeof(opnames) / sizeof(opnames[0]); i++)
			if (strlen(opnames[i].name) == n && !strncmp(s, opnames[i].name, n))
				ops |= opnames[i].bit;
		s += n + (s[n] == ',');
	}
	fault_n = (s = getenv("FAULT_N")) ? atol(s) : 0;
	sticky = (s = getenv("FAULT_STICKY")) && !strcmp(s, "1");
	sleep_ms = (s = getenv("FAULT_SLEEP_MS")) ? atol(s) : 100;
	if ((s = getenv("FAULT_ACTION")))
		action = !strcmp(s, "kill") ? ACT_KILL : !strcmp(s, "sleep") ? ACT_SLEEP : ACT_FAIL;
	fault_errno = parse_errno(getenv("FAULT_ERRNO"));
	if ((s = getenv("FAULT_DIR")) && strlen(s) < sizeof(dir)) {
		strcpy(dir, s);
		dirlen = strlen(dir);
		while (dirlen > 1 && dir[dirlen - 1] == '/')
			dir[--dirlen] = '\0';
	}
	if ((s = getenv("FAULT_LOG")))
		logfd = (int)syscall(SYS_openat, AT_FDCWD, s, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
	ready = 1;
}

__attribute__((constructor)) static void shim_init(void)
{
	configure();
}

__attribute__((destructor)) static void shim_fini(void)
{
	char line[128];
	int len = snprintf(line, sizeof(line), "0 end - m=%ld x=%ld\n", mallocs, xallocs);
	if (logfd >= 0 && len > 0)
		syscall(SYS_write, logfd, line, (size_t)len);
}

/* ---- deciding ---- */

static void log_line(long n, const char *op, const char *path, int acted)
{
	char line[PATH_MAX + 128];
	if (logfd < 0)
		return;
	int len = snprintf(line, sizeof(line), "%ld %s %s m=%ld x=%ld%s\n", n, op, path ? path : "-", mallocs, xallocs,
			   acted ? (action == ACT_FAIL ? " FAIL" : action == ACT_KILL ? " KILL" : " SLEEP") : "");
	if (len > 0)
		syscall(SYS_write, logfd, line, (size_t)(len < (int)sizeof(line) ? len : (int)sizeof(line) - 1));
}

/* The absolute form of path (relative to dirfd), in out. */
static const char *absolute(int dirfd, const char *path, char *out, size_t cap)
{
	char base[PATH_MAX];
	if (!path)
		return NULL;
	if (path[0] == '/')
		return path;
	if (dirfd == AT_FDCWD) {
		if (!getcwd(base, sizeof(base)))
			return path;
	} else {
		char link[64];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
		ssize_t n = readlink(link, base, sizeof(base) - 1);
		if (n < 0)
			return path;
		base[n] = '\0';
	}
	snprintf(out, cap, "%s/%s", base, path);
	return out;
}

static int under_dir(const char *path)
{
	if (!dirlen)
		return 1;
	return path && !strncmp(path, dir, dirlen) && (path[dirlen] == '/' || path[dirlen] == '\0');
}

/* Counts a call to op on path (already absolute) and says whether to act. */
static int hit(int bit, const char *op, const char *path)
{
	if (!ready || !(ops & bit) || !under_dir(path))
		return 0;
	long n = __atomic_add_fetch(&counter, 1, __ATOMIC_SEQ_CST);
	int act = fault_n > 0 && (n == fault_n || (sticky && n > fault_n));
	log_line(n, op, path, act);
	if (act && action == ACT_KILL)
		raise(SIGKILL);
	return act;
}

static void after(int acted)
{
	if (acted && action == ACT_SLEEP) {
		struct timespec ts = { sleep_ms / 1000, (sleep_ms % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
}

static int failing(int acted)
{
	return acted && action == ACT_FAIL;
}

/* ---- allocation ---- */

static int from_exe(const void *ret)
{
	return (uintptr_t)ret >= exe_lo && (uintptr_t)ret < exe_hi;
}

static int alloc_hit(int bit, const void *ret)
{
	if (!ready || !from_exe(ret))
		return 0;
	long a = __atomic_add_fetch(bit == OP_MALLOC ? &mallocs : &xallocs, 1, __ATOMIC_SEQ_CST);
	if (!(ops & bit))
		return 0;
	long n = __atomic_add_fetch(&counter, 1, __ATOMIC_SEQ_CST);
	int act = fault_n > 0 && (n == fault_n || (sticky && n > fault_n));
	if (act) {
		char what[64];	/* the caller, for addr2line -e bulkhead */
		snprintf(what, sizeof(what), "alloc#%ld@0x%lx", a, (unsigned long)((uintptr_t)ret - exe_base));
		log_line(n, bit == OP_MALLOC ? "malloc" : "xalloc", what, 1);
		if (action == ACT_KILL)
			raise(SIGKILL);
	}
	return act && action == ACT_FAIL;
}

void *malloc(size_t n)
{
	if (!real_malloc) {
		if (initialising)
			return boot_alloc(n);
		resolve();
	}
	if (alloc_hit(OP_MALLOC, __builtin_return_address(0))) {
		errno = ENOMEM;
		return NULL;
	}
	return real_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	if (!real_calloc) {
		if (initialising) {
			void *p = boot_alloc(n * size);
			if (p)
				memset(p, 0, n * size);
			return p;
		}
		resolve();
	}
	if (alloc_hit(OP_MALLOC, __builtin_return_address(0))) {
		errno = ENOMEM;
		return NULL;
	}
	return real_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	if (in_boot(p)) {
		void *q = malloc(n);
		size_t old = ((size_t *)p)[-2];
		if (q)
			memcpy(q, p, old < n ? old : n);
		return q;
	}
	if (!real_realloc) {
		if (initialising)
			return boot_alloc(n);
		resolve();
	}
	if (alloc_hit(OP_MALLOC, __builtin_return_address(0))) {
		errno = ENOMEM;
		return NULL;
	}
	return real_realloc(p, n);
}

void free(void *p)
{
	if (!p || in_boot(p))
		return;
	if (!real_free)
		resolve();
	if (real_free)
		real_free(p);
}

char *strdup(const char *s)
{
	if (!resolved)
		resolve();
	if (alloc_hit(OP_XALLOC, __builtin_return_address(0))) {
		errno = ENOMEM;
		return NULL;
	}
	return real_strdup(s);
}

char *strndup(const char *s, size_t n)
{
	if (!resolved)
		resolve();
	if (alloc_hit(OP_XALLOC, __builtin_return_address(0))) {
		errno = ENOMEM;
		return NULL;
	}
	return real_strndup(s, n);
}

char *realpath(const char *path, char *resolved)
{
	if (!resolved)
		resolve();
	if (!resolved && alloc_hit(OP_XALLOC, __builtin_return_address(0))) {
		errno = ENOMEM;
		return NULL;
	}
	return real_realpath(path, resolved);
}

/* ---- file operations ---- */

ssize_t write(int fd, const void *buf, size_t n)
{
	if (!resolved)
		resolve();
	int acted = 0;
	if (fd > 2 && (ops & OP_WRITE)) {
		char link[64], path[PATH_MAX];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t len = readlink(link, path, sizeof(path) - 1);
		path[len > 0 ? len : 0] = '\0';
		acted = hit(OP_WRITE, "write", path);
	}
	if (failing(acted)) {
		errno = fault_errno;
		return -1;
	}
	ssize_t rc = real_write(fd, buf, n);
	after(acted);
	return rc;
}

static int open_common(int (*real)(const char *, int, ...), int dirfd, const char *path, int flags,
		       mode_t mode)
{
	char buf[PATH_MAX];
	int acted = 0;
	if (flags & O_CREAT)
		acted = hit(OP_OPEN, "open", absolute(dirfd, path, buf, sizeof(buf)));
	if (failing(acted)) {
		errno = fault_errno;
		return -1;
	}
	int rc;
	if (dirfd == AT_FDCWD && real)
		rc = real(path, flags, mode);
	else
		rc = real_openat(dirfd, path, flags, mode);
	after(acted);
	return rc;
}

static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = mode_arg(flags, ap);
	va_end(ap);
	if (!resolved)
		resolve();
	return open_common(real_open, AT_FDCWD, path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = mode_arg(flags, ap);
	va_end(ap);
	if (!resolved)
		resolve();
	return open_common(real_open64 ? real_open64 : real_open, AT_FDCWD, path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = mode_arg(flags, ap);
	va_end(ap);
	if (!resolved)
		resolve();
	return open_common(NULL, dirfd, path, flags, mode);
}

int rename(const char *from, const char *to)
{
	char a[PATH_MAX], b[PATH_MAX];
	if (!resolved)
		resolve();
	const char *abs_from = absolute(AT_FDCWD, from, a, sizeof(a));
	const char *abs_to = absolute(AT_FDCWD, to, b, sizeof(b));
	int acted = hit(OP_RENAME, "rename", under_dir(abs_to) ? abs_to : abs_from);
	if (failing(acted)) {
		errno = fault_errno;
		return -1;
	}
	int rc = real_rename(from, to);
	after(acted);
	return rc;
}

int mkdir(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	if (!resolved)
		resolve();
	int acted = hit(OP_MKDIR, "mkdir", absolute(AT_FDCWD, path, buf, sizeof(buf)));
	if (failing(acted)) {
		errno = fault_errno;
		return -1;
	}
	int rc = real_mkdir(path, mode);
	after(acted);
	return rc;
}

int unlink(const char *path)
{
	char buf[PATH_MAX];
	if (!resolved)
		resolve();
	int acted = hit(OP_UNLINK, "unlink", absolute(AT_FDCWD, path, buf, sizeof(buf)));
	if (failing(acted)) {
		errno = fault_errno;
		return -1;
	}
	int rc = real_unlink(path);
	after(acted);
	return rc;
}

int rmdir(const char *path)
{
	char buf[PATH_MAX];
	if (!resolved)
		resolve();
	int acted = hit(OP_RMDIR, "rmdir", absolute(AT_FDCWD, path, buf, sizeof(buf)));
	if (failing(acted)) {
		errno = fault_errno;
		return -1;
	}
	int rc = real_rmdir(path);
	after(acted);
	return rc;
}

int flock(int fd, int op)
{
	if (!resolved)
		resolve();
	int acted = 0;
	if (ops & OP_FLOCK) {
		char link[64], path[PATH_MAX];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t len = readlink(link, path, sizeof(path) - 1);
		path[len > 0 ? len : 0] = '\0';
		acted = hit(OP_FLOCK, "flock", path);
	}
	if (failing(acted)) {
		errno = fault_errno;
		return -1;
	}
	int rc = real_flock(fd, op);
	after(acted);
	return rc;
}
