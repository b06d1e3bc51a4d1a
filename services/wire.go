package services

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/slipway/slipway/supervisor"
)

// The servers' readiness is asked in their own protocols, without a
// process: a probe every few dozen milliseconds while one starts.

// postgresAccepting returns nil once PostgreSQL on port would take a
// login: to a startup message it answers with an authentication request,
// where a server still starting or recovering answers with an error.
func postgresAccepting(ctx context.Context, port int) error {
	conn, err := dial(ctx, port)
	if err != nil {
		return err
	}
	defer conn.Close()
	params := "user\x00postgres\x00database\x00postgres\x00\x00"
	msg := make([]byte, 8, 8+len(params))
	binary.BigEndian.PutUint32(msg, uint32(8+len(params)))
	binary.BigEndian.PutUint32(msg[4:], 3<<16) // protocol 3.0
	msg = append(msg, params...)
	if _, err := conn.Write(msg); err != nil {
		return err
	}
	var head [5]byte
	if _, err := io.ReadFull(conn, head[:]); err != nil {
		return err
	}
	switch head[0] {
	case 'R':
		return nil
	case 'E':
		n := int(binary.BigEndian.Uint32(head[1:])) - 4
		body := make([]byte, max(0, min(n, 4096)))
		io.ReadFull(conn, body)
		return fmt.Errorf("postgres: %s", pgErrorMessage(body))
	}
	return fmt.Errorf("postgres: unexpected answer %q", head[0])
}

// pgErrorMessage is the M field of an ErrorResponse's body.
func pgErrorMessage(body []byte) string {
	for _, f := range strings.Split(string(body), "\x00") {
		if m, ok := strings.CutPrefix(f, "M"); ok {
			return m
		}
	}
	return "an error"
}

// redisAccepting returns nil once Redis on port takes password and
// answers PING (not -LOADING).
func redisAccepting(ctx context.Context, port int, password string) error {
	conn, err := dial(ctx, port)
	if err != nil {
		return err
	}
	defer conn.Close()
	cmd := fmt.Sprintf("*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n*1\r\n$4\r\nPING\r\n", len(password), password)
	if _, err := io.WriteString(conn, cmd); err != nil {
		return err
	}
	r := bufio.NewReader(conn)
	for _, want := range []string{"+OK", "+PONG"} {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if line = strings.TrimSpace(line); line != want {
			return fmt.Errorf("redis: %s", line)
		}
	}
	return nil
}

// dial connects to port on loopback, within ctx and at most a few seconds.
func dial(ctx context.Context, port int) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	return conn, nil
}

// privateShm reports whether server processes get a /dev/shm of their own.
var privateShm = supervisor.PrivateShm

// writeOwned writes data to path (mode 0600), owned by uid when it is not
// 0, through a temporary file renamed into place.
func writeOwned(path string, data []byte, uid int) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	if uid != 0 {
		if err := os.Chown(tmp, uid, uid); err != nil {
			os.Remove(tmp)
			return err
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// writeFile writes path through fill, fsynced, by way of a temporary file
// that is removed when fill fails (a full disk): no partial file is left.
func writeFile(path string, fill func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".partial"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	err = fill(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// shellJoin quotes argv for /bin/sh.
func shellJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,") == "" {
			q[i] = a
			continue
		}
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}
