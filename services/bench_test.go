package services

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/procfs"
	"github.com/slipway/slipway/internal/testutil"
)

// The numbers docs/services.md gives, on the host's own servers:
//
//	go test -run '^$' -bench . -benchtime 3x ./services/

// BenchmarkCreate is a new service from nothing to accepting its
// password: initdb or redis.conf, the start, and (PostgreSQL) its
// database.
func BenchmarkCreate(b *testing.B) {
	for _, kind := range slipway.ServiceKinds {
		b.Run(string(kind), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				h, svc := testHost(b, kind)
				rt := NewRuntime(RuntimeConfig{})
				b.StartTimer()
				startService(b, rt, h, svc)
				b.StopTimer()
				rt.Stop(svc.Name)
				b.StartTimer()
			}
		})
	}
}

// BenchmarkIdleMemory is the memory an empty service's server processes
// hold once started (their proportional set size, shared pages split
// among them), in MB.
func BenchmarkIdleMemory(b *testing.B) {
	for _, kind := range slipway.ServiceKinds {
		b.Run(string(kind), func(b *testing.B) {
			h, svc := testHost(b, kind)
			rt := NewRuntime(RuntimeConfig{})
			startService(b, rt, h, svc)
			defer rt.Stop(svc.Name)
			info, _ := rt.Info(svc.Name)
			var pss int64
			for range b.N {
				pss = treePSS(info.PID)
			}
			b.ReportMetric(float64(pss)/(1<<20), "MB-pss")
		})
	}
}

// BenchmarkBackupRestore100MB backs up and restores a PostgreSQL database
// of about 100 MB (pg_dump -Fc, checked; then the restore beside it and
// the swap), and a Redis of about 100 MB.
func BenchmarkBackupRestore100MB(b *testing.B) {
	for _, kind := range slipway.ServiceKinds {
		b.Run(string(kind), func(b *testing.B) {
			h, svc := testHost(b, kind)
			rt := NewRuntime(RuntimeConfig{})
			startService(b, rt, h, svc)
			defer rt.Stop(svc.Name)
			ctx, cancel := context.WithTimeout(context.Background(), 10*testutil.Timeout)
			defer cancel()
			fill(b, h, svc)
			var backup, restore time.Duration
			var size int64
			for i := range b.N {
				path := filepath.Join(h.Layout.ServiceBackups(svc.Name), "b"+strconv.Itoa(i)+(map[slipway.ServiceKind]string{slipway.Postgres: ".dump", slipway.Redis: ".rdb"})[kind])
				start := time.Now()
				srv, _ := For(kind)
				if err := srv.Backup(ctx, h, svc, path); err != nil {
					b.Fatal(err)
				}
				backup += time.Since(start)
				if fi, err := os.Stat(path); err == nil {
					size = fi.Size()
				}
				start = time.Now()
				if _, err := Restore(ctx, rt, h, svc, path); err != nil {
					b.Fatal(err)
				}
				restore += time.Since(start)
				os.Remove(path)
			}
			b.ReportMetric(backup.Seconds()/float64(b.N), "s-backup")
			b.ReportMetric(restore.Seconds()/float64(b.N), "s-restore")
			b.ReportMetric(float64(size)/(1<<20), "MB-backup")
		})
	}
}

// fill puts about 100 MB of rows or keys in svc.
func fill(b *testing.B, h Host, svc *slipway.BackingService) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*testutil.Timeout)
	defer cancel()
	if svc.Kind == slipway.Postgres {
		if err := (postgres{}).sql(ctx, h, svc, svc.Name,
			`CREATE TABLE big AS SELECT g, md5(g::text) || md5((g+1)::text) || md5((g+2)::text) || md5((g+3)::text) || md5((g+4)::text) || md5((g+5)::text) AS body FROM generate_series(1, 400000) g`); err != nil {
			b.Fatal(err)
		}
		return
	}
	argv, env, err := redis{}.Client(h, svc)
	if err != nil {
		b.Fatal(err)
	}
	// 400,000 values of 240 hex digits that compress little.
	script := `for i=1,400000 do local h = redis.sha1hex(tostring(i)) redis.call('SET', 'k'..i, string.rep(h, 6)) end return 1`
	if err := h.run(ctx, svc, append(argv, "EVAL", script, "0"), env, nil, nil, io.Discard); err != nil {
		b.Fatal(err)
	}
}

// treePSS is the proportional set size of pid and its children, in bytes.
func treePSS(pid int) int64 {
	total := pss(pid)
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := procfs.ReadStat(child); ok && st.PPID == pid {
			total += pss(child)
		}
	}
	return total
}

func pss(pid int) int64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Pss:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
