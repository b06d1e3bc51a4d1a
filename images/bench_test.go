package images

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pythonApp makes a release directory of about size bytes that looks
// like a Python app's: the host's Python standard library's sources when
// it has one (text that compresses as an app's does), else generated
// source-like text.
func pythonApp(b *testing.B, size int64) string {
	b.Helper()
	dir := b.TempDir()
	var total int64
	copyFile := func(rel string, data []byte) bool {
		p := filepath.Join(dir, "lib", rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			b.Fatal(err)
		}
		total += int64(len(data))
		return total < size
	}
	writeFiles(b, dir, map[string]fileSpec{
		"app.py":   {"import http.server\n", 0o644},
		"Procfile": {"web: python3 app.py\n", 0o644},
	})
	stdlib, _ := filepath.Glob("/usr/lib/python3*/")
	for _, src := range stdlib {
		stop := fmt.Errorf("enough")
		err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() || !strings.HasSuffix(p, ".py") {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return nil
			}
			rel, _ := filepath.Rel(src, p)
			if !copyFile(rel, data) {
				return stop
			}
			return nil
		})
		if err == stop {
			return dir
		}
	}
	words := strings.Fields("def class return import self if else for in range print value name data result None True False")
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; ; i++ {
		var sb strings.Builder
		for sb.Len() < 8000 {
			sb.WriteString(words[r.IntN(len(words))])
			sb.WriteByte(" \n"[r.IntN(2)])
		}
		if !copyFile(fmt.Sprintf("gen/m%d.py", i), []byte(sb.String())) {
			return dir
		}
	}
}

// cpuTime is the CPU time this process has used: on a machine shared
// with other jobs, a steadier measure than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time per op since start.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64((cpuTime()-start).Milliseconds())/float64(b.N), "cpu-ms/op")
}

var benchSizes = []struct {
	name string
	size int64
}{{"1MB", 1 << 20}, {"50MB", 50 << 20}}

// BenchmarkFromRelease makes a release's image with no base: walking,
// tarring, compressing and hashing the directory.
func BenchmarkFromRelease(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			dir := pythonApp(b, s.size)
			b.SetBytes(s.size)
			start := cpuTime()
			for b.Loop() {
				if _, err := FromRelease(context.Background(), ReleaseImage{Dir: dir, App: "bench", Version: "v1"}); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, start)
			reportLayerSize(b, dir)
		})
	}
}

// BenchmarkFromReleaseAndPush makes a release's image on a base already
// in the registry and pushes it to go-containerregistry's in-memory
// registry over HTTP on 127.0.0.1, as a deploy would: each push is a new
// version of the app, so its layer is new.
func BenchmarkFromReleaseAndPush(b *testing.B) {
	ctx := context.Background()
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			dir := pythonApp(b, s.size)
			host := startRegistry(b, nil)
			base := busybox(b)
			if err := Push(ctx, base, host+"/stack:1", nil, nil); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(s.size)
			v := 0
			start := cpuTime()
			for b.Loop() {
				v++
				img, err := FromRelease(ctx, ReleaseImage{Dir: dir, Base: base, App: "bench", Version: fmt.Sprint("v", v), Commit: fmt.Sprint(v)})
				if err != nil {
					b.Fatal(err)
				}
				// A new commit changes a file, so that the layer is new.
				if err := os.WriteFile(filepath.Join(dir, "app.py"), []byte(fmt.Sprint("# ", v, "\n")), 0o644); err != nil {
					b.Fatal(err)
				}
				if err := Push(ctx, img, fmt.Sprint(host, "/bench:v", v), nil, nil); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, start)
		})
	}
}

func reportLayerSize(b *testing.B, dir string) {
	img, err := FromRelease(context.Background(), ReleaseImage{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	layers, _ := img.Layers()
	n, _ := layers[0].Size()
	b.ReportMetric(float64(n)/(1<<20), "layer-MB")
}

// BenchmarkUnpack unpacks a release's image: what the runtime pays once
// per release.
func BenchmarkUnpack(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			img, err := FromRelease(context.Background(), ReleaseImage{Dir: pythonApp(b, s.size)})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(s.size)
			tmp := b.TempDir()
			i := 0
			start := cpuTime()
			for b.Loop() {
				i++
				if err := Unpack(context.Background(), img, filepath.Join(tmp, fmt.Sprint(i))); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, start)
		})
	}
}
