package services

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"

	"github.com/slipway/slipway"
)

// redis is Redis: requirepass with the service's password, the append-only
// file fsynced every second (appendfsync everysec) beside RDB snapshots,
// listening on 127.0.0.1 only and on no unix socket.
type redis struct{}

func (redis) Kind() slipway.ServiceKind { return slipway.Redis }

func (redis) BackupExt() string { return ".rdb" }

// Redis on SIGTERM saves a snapshot and fsyncs its append-only file before
// it exits (shutdown-on-sigterm save).
func (redis) StopSignal() syscall.Signal { return syscall.SIGTERM }

var redisVersionRE = regexp.MustCompile(`v=(\d+)\.`)

// server returns redis-server's path and major version.
func (redis) server() (string, string, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		for _, p := range []string{"/usr/bin/redis-server", "/usr/local/bin/redis-server"} {
			if _, err := os.Stat(p); err == nil {
				bin = p
			}
		}
	}
	if bin == "" {
		return "", "", slipway.Errorf(slipway.EINVALID, "Redis is not installed on this host: install Debian's redis-server package (apt-get install redis-server), then redis:create again")
	}
	out, _ := exec.Command(bin, "--version").Output()
	m := redisVersionRE.FindSubmatch(out)
	if m == nil {
		return "", "", slipway.Errorf(slipway.EINVALID, "%s --version says %q: slipway cannot tell which Redis it is", bin, slipway.OneLine(string(out), 60))
	}
	return bin, string(m[1]), nil
}

func (r redis) Version(want string) (string, error) {
	_, v, err := r.server()
	if err != nil {
		return "", err
	}
	if want != "" && want != v {
		return "", slipway.Errorf(slipway.EINVALID, "Redis %s is not installed on this host (it has %s): leave out --version", slipway.OneLine(want, 10), v)
	}
	return v, nil
}

// conf is the path of the service's redis.conf: in its data dir, the
// service user's alone, since it holds the password.
func (redis) conf(h Host, svc *slipway.BackingService) string {
	return filepath.Join(h.Layout.ServiceData(svc.Name), "redis.conf")
}

func (r redis) Init(ctx context.Context, h Host, svc *slipway.BackingService, out io.Writer) error {
	conf := fmt.Sprintf(`# slipway's settings for service %s: the port and bind come on the command line.
protected-mode yes
requirepass %q
appendonly yes
appendfsync everysec
save 3600 1 300 100 60 10000
dbfilename dump.rdb
daemonize no
# A backup (redis-cli --rdb) is a replica's sync: start it at once.
repl-diskless-sync-delay 0
`, svc.Name, svc.Password)
	if !versionLess(svc.Version, "7") {
		conf += "shutdown-on-sigterm save\n"
	}
	return writeOwned(r.conf(h, svc), []byte(conf), svc.UID)
}

func (r redis) Command(h Host, svc *slipway.BackingService) (string, error) {
	bin, _, err := r.server()
	if err != nil {
		return "", err
	}
	return shellJoin([]string{bin, r.conf(h, svc), "--bind", "127.0.0.1", "--port", fmt.Sprint(svc.Port),
		"--dir", h.Layout.ServiceData(svc.Name)}), nil
}

func (redis) Ready(ctx context.Context, svc *slipway.BackingService) error {
	return redisAccepting(ctx, svc.Port, svc.Password)
}

func (redis) Setup(context.Context, Host, *slipway.BackingService) error { return nil }

// cli returns redis-cli's path.
func (redis) cli() (string, error) {
	bin, err := exec.LookPath("redis-cli")
	if err != nil {
		if _, err := os.Stat("/usr/bin/redis-cli"); err == nil {
			return "/usr/bin/redis-cli", nil
		}
		return "", slipway.Errorf(slipway.EINVALID, "redis-cli is not installed on this host: install Debian's redis-tools package")
	}
	return bin, nil
}

func (r redis) Backup(ctx context.Context, h Host, svc *slipway.BackingService, path string) error {
	cli, err := r.cli()
	if err != nil {
		return err
	}
	// redis-cli cuts the end-of-transfer mark off the file it wrote, which
	// it cannot do on a pipe: the snapshot goes to a file of the service's
	// tmp dir first, then into the backups, slipway's alone.
	taken := filepath.Join(filepath.Dir(h.Layout.ServiceTmp(svc.Name)), "backup.rdb")
	defer os.Remove(taken)
	var buf bytes.Buffer
	err = h.run(ctx, svc, []string{cli, "-h", "127.0.0.1", "-p", fmt.Sprint(svc.Port), "--no-auth-warning", "--rdb", taken},
		[]string{"REDISCLI_AUTH=" + svc.Password}, nil, nil, &buf)
	if err != nil {
		return toolError("redis-cli --rdb", err, buf.String())
	}
	if err := checkRDB(taken); err != nil {
		return err
	}
	return writeFile(path, func(w io.Writer) error {
		f, err := os.Open(taken)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(w, f)
		return err
	})
}

// Restore puts the RDB snapshot at path in place of the server's data:
// stop must have stopped the server, and start starts it again.
func (r redis) Restore(h Host, svc *slipway.BackingService, path string) error {
	data := h.Layout.ServiceData(svc.Name)
	snap, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	// With the append-only file on, Redis loads it, not dump.rdb: the
	// snapshot becomes the AOF's base, with an empty increment after it.
	aof := filepath.Join(data, "appendonlydir")
	fresh := aof + ".restoring"
	os.RemoveAll(fresh)
	if err := os.Mkdir(fresh, 0o700); err != nil {
		return err
	}
	files := []struct {
		name string
		data []byte
	}{
		{"appendonly.aof.1.base.rdb", snap},
		{"appendonly.aof.1.incr.aof", nil},
		{"appendonly.aof.manifest", []byte("file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n")},
	}
	for _, f := range files {
		if err := writeOwned(filepath.Join(fresh, f.name), f.data, svc.UID); err != nil {
			return err
		}
	}
	if err := os.Chown(fresh, svc.UID, svc.UID); err != nil && svc.UID != 0 {
		return err
	}
	if err := writeOwned(filepath.Join(data, "dump.rdb"), snap, svc.UID); err != nil {
		return err
	}
	if err := os.RemoveAll(aof); err != nil {
		return err
	}
	if err := os.Rename(fresh, aof); err != nil {
		return err
	}
	return syncDir(data)
}

func (r redis) Client(h Host, svc *slipway.BackingService) ([]string, []string, error) {
	cli, err := r.cli()
	if err != nil {
		return nil, nil, err
	}
	return []string{cli, "-h", "127.0.0.1", "-p", fmt.Sprint(svc.Port), "--no-auth-warning"}, []string{"REDISCLI_AUTH=" + svc.Password}, nil
}

// checkRDB reads an RDB snapshot's header and checks its CRC-64 (Redis's
// Jones polynomial) against its last eight bytes.
func checkRDB(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() < 9+1+8 {
		return errBadRDB
	}
	head := make([]byte, 9)
	if _, err := io.ReadFull(f, head); err != nil || !bytes.HasPrefix(head, []byte("REDIS")) {
		return errBadRDB
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	var crc uint64
	br := bufio.NewReaderSize(io.LimitReader(f, st.Size()-8), 1<<16)
	buf := make([]byte, 1<<16)
	for {
		n, err := br.Read(buf)
		crc = crc64Jones(crc, buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	var sum [8]byte
	if _, err := io.ReadFull(f, sum[:]); err != nil {
		return err
	}
	if want := binary.LittleEndian.Uint64(sum[:]); want != 0 && want != crc {
		return errBadRDB
	}
	return nil
}

var errBadRDB = errors.New("the snapshot does not read back: its checksum is wrong or it is cut short")

// jones is the table of Redis's CRC-64 (Jones, reflected, no final xor).
var jones = func() *[256]uint64 {
	const poly = 0x95ac9329ac4bc9b5 // 0xad93d23594c935a9 reflected
	var t [256]uint64
	for i := range t {
		c := uint64(i)
		for range 8 {
			if c&1 == 1 {
				c = c>>1 ^ poly
			} else {
				c >>= 1
			}
		}
		t[i] = c
	}
	return &t
}()

func crc64Jones(crc uint64, p []byte) uint64 {
	for _, b := range p {
		crc = jones[byte(crc)^b] ^ crc>>8
	}
	return crc
}
