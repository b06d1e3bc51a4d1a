// The sandbox launcher's fast path: `slipway __slipway_launch OPTIONS --
// PROGRAM ARGS...` confines itself and executes PROGRAM before the Go
// runtime starts. Every app process starts through the launcher, on the
// path of a deploy, a wake and a rollback, and a start of slipway's Go
// program costs tens of milliseconds of package initialisation for what
// is a few system calls.
//
// It does what confineAndExec (sandbox.go) does, from the same options
// (encodeLaunch): wait until slipway has put it in its cgroup, mount its
// own /dev/shm and drop the capability that allowed it, restrict itself
// with Landlock, set no_new_privs, take back the sealed environment and
// execute the program. Where it cannot do all of that exactly as the Go
// launcher would (a Landlock ABI other than 6 to 8, an option it does not
// know), it returns before touching anything and the Go launcher runs.
// Any failure after that is fatal: the program never runs unconfined.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

// Landlock's ABI, written out: the C library headers of a distribution
// lag the kernel (Debian 12's stop at ABI 3, without the network rules).
struct launch_ruleset_attr {
	uint64_t handled_access_fs, handled_access_net, scoped;
};
struct launch_path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));
struct launch_net_port_attr {
	uint64_t allowed_access, port;
};
#define LAUNCH_SYS_CREATE_RULESET 444
#define LAUNCH_SYS_ADD_RULE 445
#define LAUNCH_SYS_RESTRICT_SELF 446
#define LAUNCH_CREATE_RULESET_VERSION (1U << 0)
#define LAUNCH_RULE_PATH_BENEATH 1
#define LAUNCH_RULE_NET_PORT 2
#define LAUNCH_NET_BIND_TCP (1ULL << 0)
#define LAUNCH_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LAUNCH_SCOPE_SIGNAL (1ULL << 1)

#define LAUNCH_FS_EXECUTE (1ULL << 0)
#define LAUNCH_FS_WRITE_FILE (1ULL << 1)
#define LAUNCH_FS_READ_FILE (1ULL << 2)
#define LAUNCH_FS_READ_DIR (1ULL << 3)
#define LAUNCH_FS_REFER (1ULL << 13)
#define LAUNCH_FS_TRUNCATE (1ULL << 14)
#define LAUNCH_FS_IOCTL_DEV (1ULL << 15)

// The sets of go-landlock's RODirs, RWDirs and RWFiles (config.go there).
#define LAUNCH_READ (LAUNCH_FS_EXECUTE | LAUNCH_FS_READ_FILE | LAUNCH_FS_READ_DIR)
#define LAUNCH_WRITE ((((1ULL << 13) - 1) & ~LAUNCH_READ & ~LAUNCH_FS_EXECUTE) | LAUNCH_FS_WRITE_FILE | LAUNCH_FS_TRUNCATE)
#define LAUNCH_FILE (LAUNCH_FS_EXECUTE | LAUNCH_FS_WRITE_FILE | LAUNCH_FS_TRUNCATE | LAUNCH_FS_READ_FILE)

static const char *launch_system_read[] = {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt", "/proc", "/sys", "/run/systemd/resolve", NULL};
static const char *launch_devices[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", NULL};

static void launch_die(const char *what, const char *detail) {
	fprintf(stderr, "slipway sandbox: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	_exit(126);
}

// launch_path_rule allows access below path (its file rights alone when
// it is not a directory); a missing path is skipped.
static void launch_path_rule(int ruleset, const char *path, uint64_t access) {
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return;
		launch_die(path, strerror(errno));
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		launch_die(path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		access &= LAUNCH_FILE | LAUNCH_FS_IOCTL_DEV;
	struct launch_path_beneath_attr attr = {.allowed_access = access, .parent_fd = fd};
	if (syscall(LAUNCH_SYS_ADD_RULE, ruleset, LAUNCH_RULE_PATH_BENEATH, &attr, 0) < 0)
		launch_die(path, strerror(errno));
	close(fd);
}

static void launch_port_rule(int ruleset, unsigned long port) {
	struct launch_net_port_attr attr = {.allowed_access = LAUNCH_NET_BIND_TCP, .port = port};
	if (syscall(LAUNCH_SYS_ADD_RULE, ruleset, LAUNCH_RULE_NET_PORT, &attr, 0) < 0)
		launch_die("landlock port rule", strerror(errno));
}

__attribute__((constructor)) static void slipway_launch_fast(int argc, char **argv) {
	if (argc < 4 || strcmp(argv[1], "__slipway_launch") != 0)
		return;
	long abi = syscall(LAUNCH_SYS_CREATE_RULESET, NULL, 0, LAUNCH_CREATE_RULESET_VERSION);
	if (abi < 6 || abi > 8)
		return; // the Go launcher knows every ABI
	int hold = 0, shm = 0, own_mounts = 0, sep = 0;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			sep = i;
			break;
		}
		if (a[0] == 'h' && a[1] == 0)
			hold = 1;
		else if (a[0] == 's' && a[1] == 0)
			shm = 1;
		else if (a[0] == 'm' && a[1] == 0)
			own_mounts = 1;
		else if ((a[0] == 'r' || a[0] == 'w' || a[0] == 'p' || a[0] == 'u' || a[0] == 'g') && a[1] == '=')
			; // taken below
		else
			return; // an option of a later slipway: the Go launcher says so
	}
	if (sep == 0 || sep + 1 >= argc)
		return;
	// u= and g= are for reading: the identity is the kernel's already
	// (slipway started the launcher with it).

	if (hold) { // slipway sends a byte once the launcher is in its cgroup
		char b;
		ssize_t n;
		do
			n = read(3, &b, 1);
		while (n < 0 && errno == EINTR);
		if (n != 1)
			launch_die("slipway did not let the process start", NULL);
		close(3);
	}
	if (shm) {
		if (mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64m,mode=1777") < 0) {
			fprintf(stderr, "slipway sandbox: no /dev/shm of its own (%s): /dev/shm is out of reach\n", strerror(errno));
			shm = 0;
		}
		prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
		struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
		struct __user_cap_data_struct none[2] = {{0}};
		syscall(SYS_capset, &hdr, none);
	}

	struct launch_ruleset_attr ra = {
		.handled_access_net = LAUNCH_NET_BIND_TCP,
		.scoped = LAUNCH_SCOPE_ABSTRACT_UNIX_SOCKET | LAUNCH_SCOPE_SIGNAL,
	};
	if (!own_mounts) // a process confined on files may not mount: runc confines those
		ra.handled_access_fs = (1ULL << 16) - 1;
	int ruleset = syscall(LAUNCH_SYS_CREATE_RULESET, &ra, sizeof ra, 0);
	if (ruleset < 0)
		launch_die("landlock", strerror(errno));
	launch_port_rule(ruleset, 0); // the kernel picks a free port: always allowed
	if (!own_mounts) {
		for (const char **p = launch_system_read; *p; p++)
			launch_path_rule(ruleset, *p, LAUNCH_READ);
		for (const char **p = launch_devices; *p; p++)
			launch_path_rule(ruleset, *p, LAUNCH_FILE);
		if (shm) // its own; else, shared with the host, out of reach
			launch_path_rule(ruleset, "/dev/shm", LAUNCH_READ | LAUNCH_WRITE);
	}
	for (int i = 2; i < sep; i++) {
		const char *a = argv[i];
		if (a[0] == 'r' && a[1] == '=' && !own_mounts)
			launch_path_rule(ruleset, a + 2, LAUNCH_READ);
		else if (a[0] == 'w' && a[1] == '=' && !own_mounts)
			launch_path_rule(ruleset, a + 2, LAUNCH_READ | LAUNCH_WRITE | LAUNCH_FS_REFER);
		else if (a[0] == 'p' && a[1] == '=') {
			char *end;
			unsigned long port = strtoul(a + 2, &end, 10);
			if (*end || port > 65535)
				launch_die("bad port", a + 2);
			launch_port_rule(ruleset, port);
		}
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		launch_die("prctl(PR_SET_NO_NEW_PRIVS)", strerror(errno));
	if (syscall(LAUNCH_SYS_RESTRICT_SELF, ruleset, 0) < 0)
		launch_die("landlock", strerror(errno));
	close(ruleset);

	// The program's environment: what slipway sealed (sealEnv), unsealed.
	size_t n = 0;
	for (char **e = environ; *e; e++)
		n++;
	char **env = calloc(n + 1, sizeof *env);
	if (!env)
		launch_die("out of memory", NULL);
	size_t k = 0;
	const char *path = NULL;
	static const char prefix[] = "SLIPWAY_SANDBOXED_";
	for (char **e = environ; *e; e++) {
		if (strncmp(*e, prefix, sizeof prefix - 1) == 0) {
			env[k] = *e + sizeof prefix - 1;
			if (strncmp(env[k], "PATH=", 5) == 0)
				path = env[k] + 5;
			k++;
		}
	}
	env[k] = NULL;

	char **prog_argv = argv + sep + 1;
	const char *prog = prog_argv[0];
	char found[4096];
	if (!strchr(prog, '/')) { // as a shell finds it, in the program's PATH
		int ok = 0;
		for (const char *dir = path; dir && *dir && !ok;) {
			const char *end = strchr(dir, ':');
			size_t len = end ? (size_t)(end - dir) : strlen(dir);
			if (len > 0 && len + strlen(prog) + 2 <= sizeof found) {
				memcpy(found, dir, len);
				found[len] = '/';
				strcpy(found + len + 1, prog);
				struct stat st;
				ok = stat(found, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
			}
			dir = end ? end + 1 : NULL;
		}
		if (!ok) {
			fprintf(stderr, "slipway sandbox: %s: not found in PATH\n", prog);
			_exit(126);
		}
		prog = found;
	}
	execve(prog, prog_argv, env);
	launch_die(prog, strerror(errno));
}
