// The pre-receive hook's fast path: `slipway hook pre-receive` answered
// before the Go runtime starts. It runs once per push, on the path from
// `git push` to a live release, and a start of slipway's Go program costs
// tens of milliseconds of package initialisation (its registry, its web
// pages, its TLS) for a job that is a copy between two file descriptors.
//
// The constructor below runs when the binary is loaded. Unless argv is
// exactly `slipway hook pre-receive` and the daemon gave the push the raw
// socket (SLIPWAY_HOOK_RAW_SOCKET), it returns and Go starts as usual (the
// Go body, RunHook, speaks HTTP to the socket of a daemon of before).
//
// Protocol (hookraw.go): the hook sends
//   slipway-hook 1\n  id ID\n  env KEY=VALUE\n...  ref OLD NEW NAME\n...  end\n
// and copies what comes back to its standard output up to a NUL byte (the
// daemon's output is terminal-safe and holds none), after which one byte
// is the verdict: '0' accepts the push.

#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct hook_buf {
	char *p;
	size_t n, cap;
	int failed;
};

static void hook_put(struct hook_buf *b, const char *s, size_t n) {
	if (b->failed)
		return;
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->n + n)
			cap *= 2;
		if (cap > (1u << 20)) { // git sends a line a ref: a megabyte is plenty
			b->failed = 1;
			return;
		}
		char *p = realloc(b->p, cap);
		if (!p) {
			b->failed = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
}

static void hook_puts(struct hook_buf *b, const char *s) { hook_put(b, s, strlen(s)); }

static int hook_write_all(int fd, const char *p, size_t n) {
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void hook_fail(const char *msg) {
	hook_write_all(1, msg, strlen(msg));
	_exit(1);
}

// hook_env adds KEY's value, each of its colon-separated paths made
// absolute: git runs the hook inside the repository and may pass relative
// ones, and the daemon runs elsewhere.
static void hook_env(struct hook_buf *b, const char *key, const char *cwd) {
	const char *v = getenv(key);
	if (!v)
		return;
	if (strchr(v, '\n'))
		hook_fail("slipway hook: a newline in git's environment\n");
	hook_puts(b, "env ");
	hook_puts(b, key);
	hook_puts(b, "=");
	const char *part = v;
	for (;;) {
		const char *end = strchr(part, ':');
		size_t len = end ? (size_t)(end - part) : strlen(part);
		if (len > 0 && part[0] != '/') {
			hook_puts(b, cwd);
			hook_puts(b, "/");
		}
		hook_put(b, part, len);
		if (!end)
			break;
		hook_puts(b, ":");
		part = end + 1;
	}
	hook_puts(b, "\n");
}

__attribute__((constructor)) static void slipway_hook_fast(int argc, char **argv) {
	if (argc != 3 || strcmp(argv[1], "hook") != 0 || strcmp(argv[2], "pre-receive") != 0)
		return;
	const char *sock = getenv("SLIPWAY_HOOK_RAW_SOCKET");
	const char *id = getenv("SLIPWAY_PUSH_ID");
	if (!sock || !*sock || !id || !*id)
		return;
	if (strchr(id, '\n'))
		hook_fail("slipway hook: not started by slipway's git server\n");
	char cwd[4096];
	if (!getcwd(cwd, sizeof cwd))
		hook_fail("slipway hook: cannot tell the repository's directory\n");

	struct hook_buf req = {0};
	hook_puts(&req, "slipway-hook 1\nid ");
	hook_puts(&req, id);
	hook_puts(&req, "\n");
	hook_env(&req, "GIT_OBJECT_DIRECTORY", cwd);
	hook_env(&req, "GIT_ALTERNATE_OBJECT_DIRECTORIES", cwd);
	hook_env(&req, "GIT_QUARANTINE_PATH", cwd);
	// git's ref updates, one "OLD NEW NAME" line each.
	struct hook_buf in = {0};
	char chunk[8192];
	for (;;) {
		ssize_t r = read(0, chunk, sizeof chunk);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		hook_put(&in, chunk, (size_t)r);
	}
	size_t start = 0;
	for (size_t i = 0; i < in.n; i++) {
		if (in.p[i] != '\n')
			continue;
		if (i > start) {
			hook_puts(&req, "ref ");
			hook_put(&req, in.p + start, i - start);
			hook_puts(&req, "\n");
		}
		start = i + 1;
	}
	if (start < in.n) {
		hook_puts(&req, "ref ");
		hook_put(&req, in.p + start, in.n - start);
		hook_puts(&req, "\n");
	}
	hook_puts(&req, "end\n");
	if (req.failed || in.failed)
		hook_fail("slipway hook: too many refs in one push\n");

	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(sock) >= sizeof addr.sun_path)
		hook_fail("slipway hook: the daemon's socket path is too long\n");
	strcpy(addr.sun_path, sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
		hook_fail("slipway hook: cannot reach the slipway daemon; is `slipway serve` running?\n");
	if (hook_write_all(fd, req.p, req.n) < 0)
		hook_fail("slipway hook: the daemon refused the hook\n");

	// The answer: output up to NUL, then the verdict.
	int verdict = -1, seen_nul = 0;
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof chunk);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		size_t n = (size_t)r, out = n;
		if (seen_nul) {
			verdict = chunk[0];
			break;
		}
		char *nul = memchr(chunk, 0, n);
		if (nul)
			out = (size_t)(nul - chunk);
		if (hook_write_all(1, chunk, out) < 0)
			_exit(1); // git is gone
		if (nul) {
			if (out + 1 < n) {
				verdict = chunk[out + 1];
				break;
			}
			seen_nul = 1;
		}
	}
	_exit(verdict == '0' ? 0 : 1); // no verdict: the deploy was cut off
}
