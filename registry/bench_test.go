package registry

import (
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// BenchmarkPushPull pushes a 50 MB image (one 48 MiB layer and a small
// one) to the registry over 127.0.0.1 with go-containerregistry, then
// pulls it whole, and reports each direction's throughput. Each push goes
// to a fresh registry, so that nothing is already there.
//
//	go test -run '^$' -bench PushPull -benchtime 5x ./registry/
//
// The sub-benchmark in-process does the same through Transport.
func BenchmarkPushPull(b *testing.B) {
	img := imageOf(b, randomLayer(b, 48<<20, 1), randomLayer(b, 1<<20, 2))
	b.Run("http", func(b *testing.B) {
		benchPushPull(b, img, func(r *testRegistry) (string, remote.Option, remote.Option) {
			return r.host, remote.WithAuth(pusher), remote.WithAuth(puller)
		})
	})
	b.Run("in-process", func(b *testing.B) {
		benchPushPull(b, img, func(r *testRegistry) (string, remote.Option, remote.Option) {
			return "slipway.internal", remote.WithTransport(r.Transport()), remote.WithTransport(r.Transport())
		})
	})
}

func benchPushPull(b *testing.B, img v1.Image, via func(*testRegistry) (host string, pushOpt, pullOpt remote.Option)) {
	size := int64(49 << 20)
	var pushTime, pullTime time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		host, pushOpt, pullOpt := via(newTestRegistry(b, Config{}))
		b.StartTimer()
		start := time.Now()
		if err := push(b, host+"/app:v1", img, pushOpt); err != nil {
			b.Fatal(err)
		}
		pushTime += time.Since(start)
		start = time.Now()
		if _, err := pull(b, host+"/app:v1", pullOpt); err != nil {
			b.Fatal(err)
		}
		pullTime += time.Since(start)
	}
	mb := float64(size) * float64(b.N) / 1e6
	b.ReportMetric(mb/pushTime.Seconds(), "push-MB/s")
	b.ReportMetric(mb/pullTime.Seconds(), "pull-MB/s")
}
