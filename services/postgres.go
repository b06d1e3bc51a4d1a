package services

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"

	"github.com/slipway/slipway"
)

// PostgresRoot is where Debian's postgresql-N packages install each
// major version's programs: PostgresRoot/N/bin/postgres, initdb, pg_dump,
// psql. Several versions may be installed side by side.
var PostgresRoot = "/usr/lib/postgresql"

// postgres is PostgreSQL: one cluster per service, its superuser
// "postgres" with the service's password (scram-sha-256), one database
// named after the service, listening on 127.0.0.1 only and on no unix
// socket.
type postgres struct{}

func (postgres) Kind() slipway.ServiceKind { return slipway.Postgres }

func (postgres) BackupExt() string { return ".dump" }

// PostgreSQL's fast shutdown: open transactions are rolled back, clients
// disconnected, and a shutdown checkpoint written.
func (postgres) StopSignal() syscall.Signal { return syscall.SIGINT }

// versions returns the installed major versions and their bin dirs:
// Debian's layout first, then a postgres on PATH (another distribution's).
func (postgres) versions() map[string]string {
	out := map[string]string{}
	dirs, _ := filepath.Glob(filepath.Join(PostgresRoot, "*", "bin", "postgres"))
	for _, p := range dirs {
		v := filepath.Base(filepath.Dir(filepath.Dir(p)))
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), "initdb")); err == nil {
			out[v] = filepath.Dir(p)
		}
	}
	if len(out) == 0 {
		if p, err := exec.LookPath("postgres"); err == nil {
			if real, err := filepath.EvalSymlinks(p); err == nil {
				p = real
			}
			if v := postgresVersion(p); v != "" {
				out[v] = filepath.Dir(p)
			}
		}
	}
	return out
}

var postgresVersionRE = regexp.MustCompile(`\(PostgreSQL\) (\d+)`)

// postgresVersion is the major version `postgres --version` reports.
func postgresVersion(bin string) string {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return ""
	}
	m := postgresVersionRE.FindSubmatch(out)
	if m == nil {
		return ""
	}
	return string(m[1])
}

func (p postgres) Version(want string) (string, error) {
	vs := p.versions()
	if len(vs) == 0 {
		return "", slipway.Errorf(slipway.EINVALID, "PostgreSQL is not installed on this host: install Debian's postgresql package (apt-get install postgresql), then postgres:create again")
	}
	var have []string
	for v := range vs {
		have = append(have, v)
	}
	sort.Slice(have, func(i, j int) bool { return versionLess(have[i], have[j]) })
	if want == "" {
		return newest(have), nil
	}
	if _, ok := vs[want]; !ok {
		return "", slipway.Errorf(slipway.EINVALID, "PostgreSQL %s is not installed on this host (it has %s): install postgresql-%s, or leave out --version", slipway.OneLine(want, 10), strings.Join(have, ", "), slipway.OneLine(want, 10))
	}
	return want, nil
}

// bin returns the path of program of svc's version.
func (p postgres) bin(svc *slipway.BackingService, program string) (string, error) {
	dir, ok := p.versions()[svc.Version]
	if !ok {
		return "", slipway.Errorf(slipway.EINVALID, "PostgreSQL %s, which service %s runs, is no longer installed on this host: install postgresql-%s again", svc.Version, svc.Name, svc.Version)
	}
	return filepath.Join(dir, program), nil
}

func (p postgres) Init(ctx context.Context, h Host, svc *slipway.BackingService, out io.Writer) error {
	initdb, err := p.bin(svc, "initdb")
	if err != nil {
		return err
	}
	data := h.Layout.ServiceData(svc.Name)
	// The password reaches initdb in a file only the service's user reads,
	// never on a command line.
	pwfile := filepath.Join(filepath.Dir(h.Layout.ServiceTmp(svc.Name)), "initdb-password")
	if err := writeOwned(pwfile, []byte(svc.Password+"\n"), svc.UID); err != nil {
		return err
	}
	defer os.Remove(pwfile)
	var buf bytes.Buffer
	ctx, cancel := context.WithTimeout(ctx, toolTimeout)
	defer cancel()
	err = h.run(ctx, svc, []string{initdb, "-D", data, "-U", "postgres", "--auth=scram-sha-256", "--pwfile=" + pwfile,
		"-E", "UTF8", "--locale=C.UTF-8", "--no-sync"}, nil, nil, nil, &buf)
	if err != nil {
		return toolError("initdb", err, buf.String())
	}
	// Only password logins over TCP on loopback: no unix socket, no trust.
	hba := "# slipway: the superuser, by password, on loopback only\nhost all all 127.0.0.1/32 scram-sha-256\n"
	if err := writeOwned(filepath.Join(data, "pg_hba.conf"), []byte(hba), svc.UID); err != nil {
		return err
	}
	return syncDir(data)
}

func (p postgres) Command(h Host, svc *slipway.BackingService) (string, error) {
	bin, err := p.bin(svc, "postgres")
	if err != nil {
		return "", err
	}
	// Dynamic shared memory in /dev/shm needs the process's own /dev/shm
	// (supervisor.PrivateShm); files in the data dir work everywhere.
	dsm := "mmap"
	if h.Sandbox != nil && privateShm() {
		dsm = "posix"
	}
	args := []string{bin, "-D", h.Layout.ServiceData(svc.Name),
		"-c", "listen_addresses=127.0.0.1",
		"-c", fmt.Sprintf("port=%d", svc.Port),
		"-c", "unix_socket_directories=",
		"-c", "password_encryption=scram-sha-256",
		"-c", "dynamic_shared_memory_type=" + dsm,
		"-c", "logging_collector=off",
		"-c", "log_line_prefix=%m [%p] ",
	}
	return shellJoin(args), nil
}

func (postgres) Ready(ctx context.Context, svc *slipway.BackingService) error {
	return postgresAccepting(ctx, svc.Port)
}

func (p postgres) Setup(ctx context.Context, h Host, svc *slipway.BackingService) error {
	return p.sql(ctx, h, svc, "postgres", fmt.Sprintf(`CREATE DATABASE %q`, svc.Name))
}

// sql runs statements on database db of svc's server with psql.
func (p postgres) sql(ctx context.Context, h Host, svc *slipway.BackingService, db string, statements ...string) error {
	psql, err := p.bin(svc, "psql")
	if err != nil {
		return err
	}
	argv := []string{psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", fmt.Sprint(svc.Port), "-U", "postgres", "-d", db}
	for _, s := range statements {
		argv = append(argv, "-c", s)
	}
	var buf bytes.Buffer
	ctx, cancel := context.WithTimeout(ctx, toolTimeout)
	defer cancel()
	if err := h.run(ctx, svc, argv, p.auth(svc), nil, nil, &buf); err != nil {
		return toolError("psql", err, buf.String())
	}
	return nil
}

// auth is the client tools' environment: the password, never on a
// command line.
func (postgres) auth(svc *slipway.BackingService) []string {
	return []string{"PGPASSWORD=" + svc.Password, "PGCONNECT_TIMEOUT=10"}
}

// Dump writes a pg_dump -Fc of the service's database to w.
func (p postgres) Dump(ctx context.Context, h Host, svc *slipway.BackingService, w io.Writer) error {
	dump, err := p.bin(svc, "pg_dump")
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	err = h.run(ctx, svc, []string{dump, "-Fc", "-h", "127.0.0.1", "-p", fmt.Sprint(svc.Port), "-U", "postgres", "-d", svc.Name},
		p.auth(svc), nil, w, &buf)
	if err != nil {
		return toolError("pg_dump", err, buf.String())
	}
	return nil
}

// Load restores a pg_dump -Fc read from r into database db, in one
// transaction: a dump that fails half way changes nothing.
func (p postgres) Load(ctx context.Context, h Host, svc *slipway.BackingService, db string, r io.Reader) error {
	restore, err := p.bin(svc, "pg_restore")
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	err = h.run(ctx, svc, []string{restore, "--clean", "--if-exists", "--no-owner", "--no-acl", "--single-transaction", "--exit-on-error",
		"-h", "127.0.0.1", "-p", fmt.Sprint(svc.Port), "-U", "postgres", "-d", db}, p.auth(svc), r, nil, &buf)
	if err != nil {
		return toolError("pg_restore", err, buf.String())
	}
	return nil
}

// check reads a dump's table of contents, as a restore would start.
func (p postgres) check(ctx context.Context, h Host, svc *slipway.BackingService, r io.Reader) error {
	restore, err := p.bin(svc, "pg_restore")
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := h.run(ctx, svc, []string{restore, "-l"}, nil, r, io.Discard, &buf); err != nil {
		return toolError("the backup does not read back", err, buf.String())
	}
	return nil
}

func (p postgres) Backup(ctx context.Context, h Host, svc *slipway.BackingService, path string) error {
	if err := writeFile(path, func(w io.Writer) error { return p.Dump(ctx, h, svc, w) }); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return p.check(ctx, h, svc, f)
}

// Restore makes the service's database what the dump at path holds: it
// is restored into a database of its own first, while the apps go on, and
// then swapped in for the live one in one short step, during which the
// apps' connections are closed and new ones refused. It returns how many
// connections were closed.
func (p postgres) Restore(ctx context.Context, h Host, svc *slipway.BackingService, path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	staging, old := svc.Name+"-restoring", svc.Name+"-before-restore"
	if err := p.sql(ctx, h, svc, "postgres", fmt.Sprintf(`DROP DATABASE IF EXISTS %q WITH (FORCE)`, staging), fmt.Sprintf(`CREATE DATABASE %q`, staging)); err != nil {
		return 0, err
	}
	if err := p.Load(ctx, h, svc, staging, f); err != nil {
		p.sql(context.WithoutCancel(ctx), h, svc, "postgres", fmt.Sprintf(`DROP DATABASE IF EXISTS %q WITH (FORCE)`, staging))
		return 0, err
	}
	var closed int
	count, err := p.query(ctx, h, svc, "postgres", fmt.Sprintf(`SELECT count(*) FROM pg_stat_activity WHERE datname = '%s'`, svc.Name))
	if err == nil {
		fmt.Sscan(count, &closed)
	}
	err = p.sql(ctx, h, svc, "postgres",
		fmt.Sprintf(`ALTER DATABASE %q WITH ALLOW_CONNECTIONS false`, svc.Name),
		fmt.Sprintf(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s'`, svc.Name),
		fmt.Sprintf(`DROP DATABASE IF EXISTS %q WITH (FORCE)`, old),
		fmt.Sprintf(`ALTER DATABASE %q RENAME TO %q`, svc.Name, old),
		fmt.Sprintf(`ALTER DATABASE %q RENAME TO %q`, staging, svc.Name),
		fmt.Sprintf(`DROP DATABASE %q WITH (FORCE)`, old),
	)
	if err != nil {
		// Whatever step failed, the live database takes connections again.
		p.sql(context.WithoutCancel(ctx), h, svc, "postgres", fmt.Sprintf(`ALTER DATABASE %q WITH ALLOW_CONNECTIONS true`, svc.Name))
		return 0, err
	}
	return closed, nil
}

// query returns what a query on database db returns, unaligned.
func (p postgres) query(ctx context.Context, h Host, svc *slipway.BackingService, db, q string) (string, error) {
	psql, err := p.bin(svc, "psql")
	if err != nil {
		return "", err
	}
	var out, errs bytes.Buffer
	ctx, cancel := context.WithTimeout(ctx, toolTimeout)
	defer cancel()
	err = h.run(ctx, svc, []string{psql, "-X", "-A", "-t", "-h", "127.0.0.1", "-p", fmt.Sprint(svc.Port), "-U", "postgres", "-d", db, "-c", q},
		p.auth(svc), nil, &out, &errs)
	if err != nil {
		return "", toolError("psql", err, errs.String())
	}
	return strings.TrimSpace(out.String()), nil
}

func (p postgres) Client(h Host, svc *slipway.BackingService) ([]string, []string, error) {
	psql, err := p.bin(svc, "psql")
	if err != nil {
		return nil, nil, err
	}
	return []string{psql, "-h", "127.0.0.1", "-p", fmt.Sprint(svc.Port), "-U", "postgres", "-d", svc.Name}, p.auth(svc), nil
}
